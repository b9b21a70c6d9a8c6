"""Patch-projection input adapter for dense image-like modalities (rgb, depth)."""
from typing import Tuple

import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS
from .base_input_adapter import BaseInputAdapter


@MODELS.register_module()
class PatchedInputAdapter(BaseInputAdapter):
    """Turns a (B, C, H, W) image into patch tokens with fixed sin-cos positions.

    Args:
        in_channels (int): Channels C of the modality (3 for rgb, 1 for depth).
        embed_dims (int): Token width D; the backbone fills it in.
        patch_size (int): Side of a square patch in input pixels. Default 16.
        image_size (int | tuple): Size whose grid the stored position table
            has; any other multiple of ``patch_size`` is served by resizing.
        name (str): Modality name, only used in error messages.

    Shapes:
        x: (B, C, H, W) -> tokens: (B, H/P * W/P, D), grid: (H/P, W/P)
    """

    pos_mode = 'bicubic'

    def __init__(self,
                 in_channels: int,
                 embed_dims: int,
                 patch_size: int = 16,
                 image_size=224,
                 name: str = 'input',
                 init_cfg=None):
        super().__init__(embed_dims, patch_size, image_size, name, init_cfg)
        self.in_channels = in_channels
        self.proj = nn.Conv2d(
            in_channels, embed_dims, kernel_size=patch_size,
            stride=patch_size)

    def check_input(self, x: Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f'modality "{self.name}" expects (B, {self.in_channels}, H, W)'
                f' input, got shape {tuple(x.shape)}')
        H, W = x.shape[-2:]
        if H % self.patch_size or W % self.patch_size:
            raise ValueError(
                f'modality "{self.name}": spatial size {H}x{W} is not a '
                f'multiple of the patch size {self.patch_size}')

    def forward(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        self.check_input(x)
        return self.add_positions(self.proj(x))  # B D h w -> B hw D
