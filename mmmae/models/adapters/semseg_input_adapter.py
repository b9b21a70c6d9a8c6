"""Input adapter for semantic label maps given at a reduced resolution."""
from typing import Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS
from .base_input_adapter import BaseInputAdapter


@MODELS.register_module()
class SemSegInputAdapter(BaseInputAdapter):
    """Embeds a label map per pixel, then patchifies it into tokens.

    The map is expected at ``1/stride_level`` of the image resolution (a
    quarter by default, as in MultiMAE), and the patch kernel shrinks by the
    same factor so the token grid matches the rgb grid.

    Args:
        num_classes (int): Number of semantic classes.
        embed_dims (int): Token width D; the backbone fills it in.
        patch_size (int): Patch side in full-resolution pixels. Default 16.
        stride_level (int): Downsampling of the label map. Default 4.
        class_embed_dims (int): Width of the per-pixel class embedding.
        image_size (int | tuple): Full-resolution size of the stored grid.
        ignore_index (int): Label of unlabelled pixels; it is embedded with
            an extra last row of the table. Default 255.
        name (str): Modality name, only used in error messages.

    Shapes:
        x: (B, H/s, W/s) or (B, 1, H/s, W/s) integer labels
        -> tokens: (B, H/P * W/P, D), grid: (H/P, W/P)
    """

    pos_mode = 'bilinear'

    def __init__(self,
                 num_classes: int,
                 embed_dims: int,
                 patch_size: int = 16,
                 stride_level: int = 4,
                 class_embed_dims: int = 64,
                 image_size=224,
                 ignore_index: int = 255,
                 name: str = 'semseg',
                 init_cfg=None):
        super().__init__(embed_dims, patch_size, image_size, name, init_cfg)
        if patch_size % stride_level:
            raise ValueError(f'patch_size={patch_size} is not divisible by '
                             f'stride_level={stride_level}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.kernel = patch_size // stride_level
        self.class_emb = nn.Embedding(num_classes + 1, class_embed_dims)
        self.proj = nn.Conv2d(
            class_embed_dims, embed_dims, kernel_size=self.kernel,
            stride=self.kernel)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        if x.dim() == 4 and x.shape[1] == 1:
            x = x[:, 0]
        if x.dim() != 3:
            raise ValueError(f'modality "{self.name}" expects (B, h, w) '
                             f'labels, got shape {tuple(x.shape)}')
        h, w = x.shape[-2:]
        if h % self.kernel or w % self.kernel:
            raise ValueError(
                f'modality "{self.name}": label map {h}x{w} is not a multiple '
                f'of {self.kernel} (patch_size / stride_level)')
        x = x.long()
        bad = (x != self.ignore_index) & ((x < 0) | (x >= self.num_classes))
        if bad.any():
            raise ValueError(
                f'modality "{self.name}": label {int(x[bad][0])} is outside '
                f'0..{self.num_classes - 1} and not ignore '
                f'{self.ignore_index}')
        x = torch.where(x == self.ignore_index,
                        torch.full_like(x, self.num_classes), x)
        x = self.class_emb(x).permute(0, 3, 1, 2)  # B E h w
        return self.add_positions(self.proj(x))  # B D gh gw -> B N D
