"""The contract between the backbone and any prompt plugin (DESIGN.md §4)."""
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

import torch
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
    """
    batch_size: int
    modalities: Tuple[str, ...]
    tasks: Optional[Tuple[str, ...]] = None
    query_fn: Optional[Callable[[], Tensor]] = None
    losses: Dict[str, Tensor] = field(default_factory=dict)


class BasePrompt(BaseModule):
    """Base class of prompt plugins; the backbone calls these hooks only.

    The backbone fills ``embed_dims``, ``num_layers`` and ``patch_size`` into
    the prompt config before it builds it. A subclass creates its parameters
    in ``__init__``, sets them in ``reset_parameters()`` and overrides the
    hooks it needs:

    - ``before_block(i, x, layout, ctx)``: insert (shallow: i == 0) or
      replace (deep: every i) prompt tokens, return the new ``(x, layout)``;
    - ``readout(task, patch_tokens, tokens, layout)``: what a task's head
      sees; by default the patch tokens, unchanged.

    Prompt tokens always sit at the start of the sequence (see
    ``TokenLayout``) and the backbone strips them after the last block.

    Shapes:
        x: (B, N_prompt + N_patch + N_global, D) -> same layout, new N_prompt
    """

    def __init__(self,
                 embed_dims: int,
                 num_layers: int,
                 patch_size: int = 16,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.num_layers = num_layers
        self.patch_size = patch_size

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
