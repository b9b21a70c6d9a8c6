"""Fixed 2D sin-cos positional embeddings and their resizing."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


def build_2d_sincos_pos_embed(embed_dims: int,
                              grid_size: Tuple[int, int],
                              temperature: float = 10000.) -> Tensor:
    """MultiMAE's (MoCo-v3 style) fixed 2D sin-cos table.

    Channel quarters hold sin(r), cos(r), sin(c), cos(c) of the row index r
    and the column index c, each at ``embed_dims / 4`` frequencies
    ``temperature ** (-k / (embed_dims / 4))``. On square grids this equals
    the reference's ``build_2d_sincos_posemb`` exactly (the first channels
    encode the row); on non-square grids the reference reshapes its
    column-major flattening as row-major and so scrambles positions, while
    this table keeps rows and columns apart (see docs/fidelity.md).

    Args:
        embed_dims (int): Channels D, divisible by 4.
        grid_size (tuple[int, int]): Token grid (h, w).
        temperature (float): Frequency base. Defaults to 10000.

    Returns:
        Tensor: (1, D, h, w)
    """
    if embed_dims % 4:
        raise ValueError('sin-cos positions need embed_dims divisible by 4, '
                         f'got {embed_dims}')
    h, w = grid_size
    rows, cols = torch.meshgrid(
        torch.arange(h, dtype=torch.float32),
        torch.arange(w, dtype=torch.float32),
        indexing='ij')  # h w each
    pos_dims = embed_dims // 4
    omega = 1. / temperature**(
        torch.arange(pos_dims, dtype=torch.float32) / pos_dims)
    out_r = rows.flatten()[:, None] * omega[None]  # hw D/4
    out_c = cols.flatten()[:, None] * omega[None]  # hw D/4
    table = torch.cat(
        [out_r.sin(), out_r.cos(), out_c.sin(), out_c.cos()], dim=1)  # hw D
    return table.t().reshape(1, embed_dims, h, w)


def resize_pos_embed(pos_embed: Tensor,
                     grid_size: Tuple[int, int],
                     mode: str = 'bicubic') -> Tensor:
    """Resize a (1, D, h, w) table to ``grid_size``; a no-op when equal."""
    if tuple(pos_embed.shape[-2:]) == tuple(grid_size):
        return pos_embed
    kwargs = {} if mode == 'nearest' else dict(align_corners=False)
    return F.interpolate(pos_embed, size=grid_size, mode=mode, **kwargs)
