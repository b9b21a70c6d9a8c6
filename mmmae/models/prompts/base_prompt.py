"""The contract between the backbone and any prompt plugin (DESIGN.md §4)."""
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from ..layers import TokenLayout


@dataclass
class PromptContext:
    """What a prompt may condition on during one backbone pass.

    Attributes:
        batch_size (int): B.
        modalities (tuple): Input modalities present, in sequence order.
        tasks (tuple | None): Tasks this pass serves (one-pass multi-task
            prompts insert every task's prompts); None when task-agnostic.
        query_fn (callable | None): Returns the frozen backbone's (B, D)
            feature of the same input without prompts, computed once on
            demand (the L2P query).
        losses (dict): Auxiliary losses a prompt adds; the key names must
            contain "loss" to be backpropagated.
        cache (dict): Scratch space a prompt keeps for the rest of this
            pass (e.g. the pool's selection, reused by every block).
    """
    batch_size: int
    modalities: Tuple[str, ...]
    tasks: Optional[Tuple[str, ...]] = None
    query_fn: Optional[Callable[[], Tensor]] = None
    losses: Dict[str, Tensor] = field(default_factory=dict)
    cache: Dict[str, Any] = field(default_factory=dict)


class BasePrompt(BaseModule):
    """Base class of prompt plugins; the backbone calls these hooks only.

    The backbone fills ``embed_dims``, ``num_layers`` and ``patch_size`` into
    the prompt config before it builds it. A subclass creates its parameters
    in ``__init__``, sets them in ``reset_parameters()``, declares how many
    tokens one pass may insert with ``check_length()``, and overrides the
    hooks it needs:

    - ``before_block(i, x, layout, ctx)``: insert (shallow: i == 0) or
      replace (deep: every i) prompt tokens, return the new ``(x, layout)``;
    - ``readout(task, patch_tokens, tokens, layout)``: what a task's head
      sees; by default the patch tokens, unchanged.

    Prompt tokens always sit at the start of the sequence (see
    ``TokenLayout``) and the backbone strips them after the last block.

    Args:
        embed_dims (int): Token width D (filled in by the backbone).
        num_layers (int): Number of backbone blocks (filled in).
        patch_size (int): Patch side P; VPT's init bound uses it.
        max_length (int): Most prompt tokens one pass may put into the
            sequence. Attention cost grows with it, and a prompt longer than
            this is almost always a config slip (VPT's largest runs use 200
            tokens). Defaults to 512.

    Shapes:
        x: (B, N_prompt + N_patch + N_global, D) -> same layout, new N_prompt
    """

    def __init__(self,
                 embed_dims: int,
                 num_layers: int,
                 patch_size: int = 16,
                 max_length: int = 512,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.num_layers = num_layers
        self.patch_size = patch_size
        self.max_length = max_length

    def check_length(self, num_tokens: int, what: str) -> None:
        """Raise if ``num_tokens`` prompt tokens per pass is not allowed."""
        if num_tokens < 1:
            raise ValueError(f'{type(self).__name__}: {what} gives '
                             f'{num_tokens} prompt tokens; need at least 1')
        if num_tokens > self.max_length:
            raise ValueError(
                f'{type(self).__name__}: {what} puts {num_tokens} prompt '
                f'tokens into one pass, more than max_length='
                f'{self.max_length}; shorten the prompt or raise max_length '
                'in the prompt config')

    def vpt_init_bound(self) -> float:
        """VPT's uniform init bound sqrt(6 / (3 * P * P + D)).

        It is the xavier-uniform bound of the patch projection (fan-in 3·P·P,
        fan-out D), so prompts start at the scale of patch embeddings.
        """
        return math.sqrt(6. / (3 * self.patch_size**2 + self.embed_dims))

    def reset_parameters(self) -> None:
        """Set every parameter to its paper initialisation."""

    def init_weights(self) -> None:
        super().init_weights()
        self.reset_parameters()

    def before_block(self, index: int, x: Tensor, layout: TokenLayout,
                     ctx: PromptContext) -> Tuple[Tensor, TokenLayout]:
        return x, layout

    def readout(self, task: Optional[str], patch_tokens: Tensor, tokens: Tensor,
                layout: TokenLayout) -> Tensor:
        return patch_tokens

    @staticmethod
    def replace_prompts(x: Tensor, layout: TokenLayout,
                        groups: Dict[str, Tensor]
                        ) -> Tuple[Tensor, TokenLayout]:
        """Drop the current prompt prefix of ``x`` and put ``groups`` first.

        Args:
            groups (dict): group name -> (B, L_g, D) prompt tokens, in order.
        """
        rest = x[:, layout.num_prompt:]
        new = [p.to(rest.dtype) for p in groups.values()]
        x = torch.cat(new + [rest], dim=1)
        return x, layout.with_prompts(
            {k: v.shape[1] for k, v in groups.items()})


def prompt_table(num_layers: int, length: int, embed_dims: int) -> nn.Parameter:
    """An uninitialised (num_layers, length, D) prompt parameter."""
    return nn.Parameter(torch.empty(num_layers, length, embed_dims))


def expand_batch(prompt: Tensor, batch_size: int) -> Tensor:
    """(L, D) -> (B, L, D) without copying."""
    return prompt.unsqueeze(0).expand(batch_size, -1, -1)


def check_names(kind: str, names: Sequence[str], known: Sequence[str],
                owner: str) -> None:
    """Raise a KeyError naming every unknown name and the known ones."""
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f'{owner} has no prompt for {kind} {unknown}; '
                       f'its prompts cover {list(known)}')
