"""VPT-deep on CLIP's image tower (Jia et al., ECCV 2022), as a baseline.

Faithful to VPT-deep: L prompt tokens per layer with no position, uniform
init in ±sqrt(6 / (3·P·P + D)), prompt dropout, and before every prompted
layer the previous layer's prompt outputs are replaced. The text tower
keeps CLIP's hand-written template (``'a photo of a {}.'``), as in the
VPT-on-CLIP baselines of MaPLe and MmAP.
"""
import math

import torch
import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS
from .base_clip_prompt import BaseCLIPPrompt, PromptUnit


class VPTUnit(PromptUnit):
    """Deep visual prompts.

    Shapes:
        visual(i): (L, D_vision) for i < depth
    """

    def __init__(self, length: int, depth: int, vision_dims: int,
                 init_bound: float):
        super().__init__()
        self.visual_length = length
        self.visual_depth = depth
        self.init_bound = init_bound
        self.prompts = nn.Parameter(torch.empty(depth, length, vision_dims))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.uniform_(self.prompts, -self.init_bound, self.init_bound)

    def visual(self, layer: int) -> Tensor:
        return self.prompts[layer]


@MODELS.register_module()
class CLIPVPTPrompt(BaseCLIPPrompt):
    """VPT-deep prompts on the CLIP image tower; VPT-MT with shared/task units.

    Args:
        length (int): Prompt tokens per layer and unit. Defaults to 8.
        depth (int, optional): Prompted image layers (from the first);
            defaults to all.
        dropout (float): Prompt dropout. Defaults to 0.1 (VPT's).
        **kwargs: see :class:`BaseCLIPPrompt`.

    Shapes:
        before image block i < depth: x (B, N_prompt + N, D)
        -> (B, L_total + N, D); the text tower is unchanged.
    """

    def __init__(self, length: int = 8, depth=None, dropout: float = 0.1,
                 **kwargs):
        self.length = length
        self._depth = depth
        super().__init__(dropout=dropout, **kwargs)

    def build_unit(self) -> PromptUnit:
        depth = self.num_layers if self._depth is None else self._depth
        bound = math.sqrt(6. / (3 * self.patch_size**2 + self.embed_dims))
        return VPTUnit(self.length, depth, self.embed_dims, bound)
