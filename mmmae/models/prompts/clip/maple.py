"""MaPLe: multi-modal prompt learning (Khattak et al., CVPR 2023).

Faithful to MaPLe's coupling: text prompts at layers 1..J (J = 9, 2 tokens
in the paper), each mapped to that layer's visual prompts by its own
``Linear(D_text -> D_vision)`` (language to vision), so the image tower
has no free prompt parameters. Prompts of layer j replace those of layer
j - 1 on both towers; layers past J keep the last outputs. Text prompts
are initialised from N(0, 0.02^2); MaPLe's initialisation of the first
context from the words "a photo of a" is not reproduced (see docs/mmap.md).
"""
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
        for lin in self.couplings:
            lin.reset_parameters()

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
        **kwargs: see :class:`BaseCLIPPrompt`.

    Shapes:
        text layer i < J: (N_cls, L, D_text), positions after the start
        token replaced; image layer i < J: (B, N_prompt + N, D) ->
        (B, n_ctx_total + N, D)
    """

    def __init__(self, num_ctx: int = 2, depth: int = 9, **kwargs):
        self.num_ctx = num_ctx
        self.depth = depth
        super().__init__(**kwargs)

    def build_unit(self) -> PromptUnit:
        return MaPLeUnit(self.num_ctx, self.depth, self.text_dims,
                         self.embed_dims)
