"""MaPLe: multi-modal prompt learning (Khattak et al., CVPR 2023).

Faithful to ``trainers/maple.py`` of muzairkhattak/multimodal-prompt-learning:

- text prompts at layers 0..J-1 (J = 9, 2 tokens in the paper), each
  mapped to that layer's visual prompts by its own ``Linear(D_text ->
  D_vision)`` (language to vision), so the image tower has no free prompt
  parameters;
- layer 0's text context sits among the word embeddings and gets the
  positional embedding; prompts of layer j > 0 replace those of layer j - 1
  in the residual stream on both towers; layers past J keep the last
  outputs;
- initialisation: the layer-0 context starts from the word embeddings of
  ``ctx_init`` (default ``'a photo of a'``: the first ``num_ctx`` tokens
  are learned, the remaining words stay fixed text before the class name,
  as MaPLe's ``prompt_prefix``), deeper contexts from N(0, 0.02^2); the
  layer-0 coupling is its own fresh ``Linear`` and the deeper couplings
  start as copies of one fresh ``Linear`` (MaPLe's ``_get_clones``).

MaPLe silently falls back to random contexts when ``num_ctx > 4``; here a
phrase shorter than the context is an error instead (docs/fidelity.md).
"""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS
from .base_clip_prompt import BaseCLIPPrompt, PromptUnit


class MaPLeUnit(PromptUnit):
    """Per-layer text prompts and their vision-language couplings.

    Shapes:
        text(i): (n_ctx, D_text); visual(i): (n_ctx, D_vision), i < depth
    """

    supports_ctx_init = True

    def __init__(self, num_ctx: int, depth: int, text_dims: int,
                 vision_dims: int):
        super().__init__()
        self.text_length = self.visual_length = num_ctx
        self.text_depth = self.visual_depth = depth
        self.ctx = nn.Parameter(torch.empty(depth, num_ctx, text_dims))
        self.couplings = nn.ModuleList(
            [nn.Linear(text_dims, vision_dims) for _ in range(depth)])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.ctx, std=0.02)
        self.couplings[0].reset_parameters()
        if len(self.couplings) > 1:
            # MaPLe deep-copies ONE fresh layer for all deeper couplings.
            self.couplings[1].reset_parameters()
            for lin in self.couplings[2:]:
                lin.load_state_dict(self.couplings[1].state_dict())

    def init_text(self, embeds: Tensor) -> None:
        with torch.no_grad():
            self.ctx[0].copy_(embeds)

    def text(self, layer: int) -> Tensor:
        return self.ctx[layer]

    def visual(self, layer: int) -> Tensor:
        return self.couplings[layer](self.ctx[layer])


@MODELS.register_module()
class MaPLePrompt(BaseCLIPPrompt):
    """MaPLe prompts; MaPLe-MT with shared/task units.

    Args:
        num_ctx (int): Prompt tokens per layer and unit. Defaults to 2.
        depth (int): Prompted layers J on both towers. Defaults to 9.
        ctx_init (str, optional): Phrase the layer-0 text context starts
            from. Defaults to ``'a photo of a'`` (MaPLe's configs); None
            for random contexts after ``X`` placeholders.
        **kwargs: see :class:`BaseCLIPPrompt`.

    Shapes:
        text layer i < J: (N_cls, L, D_text), positions after the start
        token replaced (i == 0: word embeddings, before positions);
        image layer i < J: (B, N_prompt + N, D) -> (B, n_ctx_total + N, D)
    """

    def __init__(self, num_ctx: int = 2, depth: int = 9,
                 ctx_init: Optional[str] = 'a photo of a', **kwargs):
        self.num_ctx = num_ctx
        self.depth = depth
        super().__init__(ctx_init=ctx_init, **kwargs)

    def build_unit(self) -> PromptUnit:
        return MaPLeUnit(self.num_ctx, self.depth, self.text_dims,
                         self.embed_dims)
