"""Modality-aware prompts: the input modalities present choose the prompts.

No published method conditions prompts on MultiMAE's input modalities; this
design is ours. MultiMAE accepts any non-empty subset of its modalities
(rgb, depth, rgb+depth), and a frozen encoder sees very different token
statistics for each subset. So:

- every modality m has its own prompt set P_m (VPT init, no position);
- a pass with modalities S inserts the sets of the modalities in S, in the
  backbone's order, e.g. ``[P_rgb, P_depth, patches, global]`` for rgb+depth;
- a learned bias b_S per subset (zero-initialised, one D-vector per prompt
  layer) is added to every prompt token of the pass, so the rgb prompts can
  act differently when depth is also present than when rgb is alone.

Shallow (insert once) or deep (replace before every block, as VPT-deep),
with prompt dropout. Sets are concatenated rather than summed so each
modality keeps its own tokens; the sequence grows with the subset, as the
patch tokens already do.
"""
from itertools import combinations
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import TokenLayout
from .base_prompt import (BasePrompt, PromptContext, check_names,
                          expand_batch, prompt_table)


@MODELS.register_module()
class ModalityAwarePrompt(BasePrompt):
    """One prompt set per input modality plus a per-subset bias.

    Args:
        modalities (Sequence[str]): Modalities with prompts, in the
            backbone's adapter order, e.g. ``('rgb', 'depth')``.
        length (int): Prompt tokens per modality L.
        deep (bool): Replace prompts before every block. Defaults to True.
        dropout (float): Prompt dropout. Defaults to 0.1.
        subset_bias (bool): Learn the per-subset bias b_S. Defaults to True.
        **kwargs: see :class:`BasePrompt`.

    Shapes:
        before a block: x (B, N_prompt + N, D) -> (B, |S| * L + N, D) for the
        modalities S in ``ctx.modalities``
    """

    def __init__(self,
                 modalities: Sequence[str] = ('rgb', 'depth'),
                 length: int = 10,
                 deep: bool = True,
                 dropout: float = 0.1,
                 subset_bias: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        modalities = tuple(modalities)
        if not modalities or len(set(modalities)) != len(modalities):
            raise ValueError(f'ModalityAwarePrompt: modalities {modalities} '
                             'must be a non-empty list of distinct names')
        self.check_length(length * len(modalities),
                          f'length={length} x {len(modalities)} modalities')
        self.modalities = modalities
        self.length = length
        self.deep = deep
        n = self.num_layers if deep else 1
        self.modality_prompts = nn.ParameterDict(
            {m: prompt_table(n, length, self.embed_dims) for m in modalities})
        self.subset_bias = nn.ParameterDict({
            self.subset_name(s): nn.Parameter(torch.zeros(n, self.embed_dims))
            for k in range(1, len(modalities) + 1)
            for s in combinations(modalities, k)
        }) if subset_bias else None
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    @staticmethod
    def subset_name(modalities: Sequence[str]) -> str:
        return '+'.join(modalities)

    def reset_parameters(self) -> None:
        bound = self.vpt_init_bound()
        for p in self.modality_prompts.values():
            nn.init.uniform_(p, -bound, bound)
        if self.subset_bias is not None:
            for p in self.subset_bias.values():
                nn.init.zeros_(p)

    def present(self, ctx: PromptContext) -> Tuple[str, ...]:
        """The prompted modalities of this pass, in configured order."""
        if ctx is None or not ctx.modalities:
            raise RuntimeError('ModalityAwarePrompt needs ctx.modalities (the '
                               'input modalities of this pass)')
        check_names('modality', ctx.modalities, self.modalities,
                    'ModalityAwarePrompt')
        return tuple(m for m in self.modalities if m in ctx.modalities)

    def before_block(self, index: int, x: Tensor, layout: TokenLayout,
                     ctx: PromptContext) -> Tuple[Tensor, TokenLayout]:
        if index > 0 and not self.deep:
            return x, layout
        layer = index if self.deep else 0
        subset = self.present(ctx)
        bias = 0. if self.subset_bias is None else \
            self.subset_bias[self.subset_name(subset)][layer]
        groups: Dict[str, Tensor] = {}
        for m in subset:
            tokens = self.modality_prompts[m][layer] + bias  # L D
            groups[f'modality.{m}'] = self.dropout(
                expand_batch(tokens, x.shape[0]))
        return self.replace_prompts(x, layout, groups)
