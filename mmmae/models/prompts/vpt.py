"""Visual Prompt Tuning, shallow and deep (Jia et al., ECCV 2022).

Faithful to the paper and its code (KMnP/vpt):

- prompts are inserted after the positional embedding and carry no
  position of their own (the backbone adds positions inside the adapters,
  before any hook runs);
- init is uniform in ±sqrt(6 / (3·P·P + D)), the patch projection's
  xavier bound (0.0625 for ViT-B/16);
- prompt dropout acts on the (B, L, D) prompt tokens, per sample; deep
  defaults to 0.1, shallow to none ("we don't use dropout for VPT-shallow",
  KMnP/vpt demo.ipynb, commit 4410440);
- shallow inserts one prompt set before block 0 and lets its outputs flow
  through all blocks; deep gives every block its own prompts and, before
  each block, REPLACES the previous block's prompt outputs with them, so the
  sequence length stays constant.

The only difference is where the prompts sit: VPT writes ``[CLS, P, x]``,
mmmae puts prompts first (``[P, x, global]``). Attention is
permutation-equivariant and prompts have no position, so this changes
nothing.
"""
from typing import Optional, Tuple

import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import TokenLayout
from .base_prompt import BasePrompt, PromptContext, expand_batch, prompt_table


@MODELS.register_module()
class DeepPrompt(BasePrompt):
    """VPT-deep: fresh (B, L, D) prompts replace the previous ones per block.

    Args:
        length (int): Prompt tokens per block L.
        dropout (float): Prompt dropout. Defaults to 0.1.
        depth (int, optional): Number of leading blocks that get their own
            prompts (VPT's prompt-depth ablation); later blocks keep the
            last prompt outputs. Defaults to every block.
        **kwargs: see :class:`BasePrompt`.

    Shapes:
        before block i < depth: x (B, N_prompt + N, D) -> (B, L + N, D), the
        old prompt slice dropped, so N_prompt == L after block 0.
    """

    group = 'vpt'

    def __init__(self,
                 length: int,
                 dropout: float = 0.1,
                 depth: Optional[int] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.check_length(length, f'length={length}')
        depth = self.num_layers if depth is None else depth
        if not 1 <= depth <= self.num_layers:
            raise ValueError(f'DeepPrompt: depth={depth} must lie in '
                             f'[1, {self.num_layers}] (the backbone blocks)')
        self.length = length
        self.depth = depth
        self.prompt = prompt_table(depth, length, self.embed_dims)
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = self.vpt_init_bound()
        nn.init.uniform_(self.prompt, -bound, bound)

    def before_block(self, index: int, x: Tensor, layout: TokenLayout,
                     ctx: PromptContext) -> Tuple[Tensor, TokenLayout]:
        if index >= self.depth:
            return x, layout
        tokens = self.dropout(expand_batch(self.prompt[index], x.shape[0]))
        return self.replace_prompts(x, layout, {self.group: tokens})


@MODELS.register_module()
class ShallowPrompt(DeepPrompt):
    """VPT-shallow: one set of L prompt tokens inserted before block 0.

    Deep prompting limited to the first block: before block 0 there are no
    prompts to replace, so the set is inserted, and its outputs flow through
    every later block.

    Args:
        length (int): Number of prompt tokens L.
        dropout (float): Prompt dropout. Defaults to 0, as the VPT authors
            run shallow prompts.
        **kwargs: ``embed_dims``, ``num_layers``, ``patch_size``,
            ``max_length``, ``init_cfg`` of :class:`BasePrompt`.

    Shapes:
        before block 0: x (B, N_patch + N_global, D)
        -> (B, L + N_patch + N_global, D); later blocks unchanged.
    """

    def __init__(self, length: int, dropout: float = 0., **kwargs):
        super().__init__(length, dropout=dropout, depth=1, **kwargs)
