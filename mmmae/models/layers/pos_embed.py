"""Fixed 2D sin-cos positional embeddings and their resizing."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def build_2d_sincos_pos_embed(embed_dims: int,
                              grid_size: Tuple[int, int],
                              temperature: float = 10000.) -> Tensor:
    """MoCo-v3 style 2D sin-cos table.

    A quarter of the channels each hold sin(w), cos(w), sin(h), cos(h).

    Returns:
        Tensor: (1, D, h, w)
    """
    if embed_dims % 4:
        raise ValueError('sin-cos positions need embed_dims divisible by 4, '
                         f'got {embed_dims}')
    h, w = grid_size
    grid_h, grid_w = torch.meshgrid(
        torch.arange(h, dtype=torch.float32),
        torch.arange(w, dtype=torch.float32),
        indexing='ij')
    pos_dims = embed_dims // 4
    omega = 1. / temperature**(torch.arange(pos_dims) / pos_dims)
    out_w = grid_w.flatten()[:, None] * omega[None]  # HW, D/4
    out_h = grid_h.flatten()[:, None] * omega[None]
    table = torch.cat(
        [out_w.sin(), out_w.cos(), out_h.sin(), out_h.cos()], dim=1)
    return table.t().reshape(1, embed_dims, h, w)


def resize_pos_embed(pos_embed: Tensor,
                     grid_size: Tuple[int, int],
                     mode: str = 'bicubic') -> Tensor:
    """Resize a (1, D, h, w) table to ``grid_size``; a no-op when equal."""
    if tuple(pos_embed.shape[-2:]) == tuple(grid_size):
        return pos_embed
    kwargs = {} if mode == 'nearest' else dict(align_corners=False)
    return F.interpolate(pos_embed, size=grid_size, mode=mode, **kwargs)
