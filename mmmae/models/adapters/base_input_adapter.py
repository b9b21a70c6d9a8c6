from typing import Tuple

from mmengine.model import BaseModule
from torch import Tensor

from ..layers import build_2d_sincos_pos_embed, resize_pos_embed


class BaseInputAdapter(BaseModule):
    """Holds an adapter's fixed sin-cos table and adds it to projected tokens.

    The table is a persistent buffer of shape (1, D, h0, w0) for the grid of
    ``image_size``; a load pre-hook resizes a checkpoint's table of another
    grid, and ``add_positions`` resizes it to the grid of the actual input.
    """

    pos_mode = 'bicubic'

    def __init__(self, embed_dims: int, patch_size: int, image_size,
                 name: str, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.name = name
        self.patch_size = patch_size
        image_size = (image_size, image_size) if isinstance(
            image_size, int) else tuple(image_size)
        base_grid = (image_size[0] // patch_size, image_size[1] // patch_size)
        # Fixed, but persistent so checkpoints carry it like the official ones.
        self.register_buffer('pos_embed',
                             build_2d_sincos_pos_embed(embed_dims, base_grid))
        self._register_load_state_dict_pre_hook(self._resize_loaded_pos_embed)

    def _resize_loaded_pos_embed(self, state_dict, prefix, *args, **kwargs):
        key = prefix + 'pos_embed'
        if key not in state_dict:
            return
        loaded = state_dict[key]
        if loaded.shape == self.pos_embed.shape:
            return
        if loaded.dim() != 4 or loaded.shape[:2] != self.pos_embed.shape[:2]:
            raise ValueError(
                f'{key}: checkpoint shape {tuple(loaded.shape)} does not fit '
                f'the model shape {tuple(self.pos_embed.shape)}')
        state_dict[key] = resize_pos_embed(loaded, self.pos_embed.shape[-2:],
                                           self.pos_mode)

    def add_positions(self, x: Tensor) -> Tuple[Tensor, Tuple[int, int]]:
        """(B, D, h, w) projected map -> ((B, h*w, D) tokens, (h, w))."""
        grid = tuple(x.shape[-2:])
        x = x + resize_pos_embed(self.pos_embed, grid, self.pos_mode).to(
            x.dtype)
        return x.flatten(2).transpose(1, 2), grid  # B hw D
