"""Which modalities' patch tokens a dense head reads, and how they combine.

MultiMAE's fine-tuning output adapters (DPT, ConvNeXt) read only the tokens
of their ``main_tasks`` (default ``('rgb',)``, also for rgb + depth input)
and concatenate the tokens of several main tasks along the channels, so the
head's input width is ``D x len(main_tasks)``. ``TokenReadout`` is that
choice as data; the segmentor hands one to the backbone per head.
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from mmmae.registry import MODELS
from .token_layout import TokenLayout


@MODELS.register_module()
class TokenReadout:
    """Patch tokens of the chosen modalities -> one (B, C, h, w) map.

    Args:
        modalities (Sequence[str], optional): Modalities to read, in channel
            order for ``'concat'``. None reads every modality present, which
            only ``'mean'`` allows (the channel count must not depend on the
            input). Defaults to ``('rgb',)`` (MultiMAE's ``main_tasks``).
        mode (str): ``'concat'`` (MultiMAE: channels ``D x n``) or
            ``'mean'`` (channels ``D``; mmmae's earlier behaviour, and what a
            model meant to run with a modality missing needs, with
            ``modalities=None``). One modality reads the same either way.

    Shapes:
        patch_tokens: (B, N_patch, D), laid out as ``layout.modalities``
        (prompt and global tokens already stripped) -> (B, C, h, w) with
        C = D x len(modalities) for ``'concat'``, else D.
    """

    modes = ('concat', 'mean')

    def __init__(self,
                 modalities: Optional[Sequence[str]] = ('rgb', ),
                 mode: str = 'concat'):
        if mode not in self.modes:
            raise ValueError(f'TokenReadout: mode "{mode}" is not one of '
                             f'{self.modes}')
        if modalities is not None:
            if isinstance(modalities, str):
                modalities = (modalities, )
            modalities = tuple(modalities)
            if not modalities or len(set(modalities)) != len(modalities):
                raise ValueError('TokenReadout: modalities must be distinct '
                                 f'and non-empty, got {modalities}')
        elif mode == 'concat':
            raise ValueError('TokenReadout: mode="concat" needs explicit '
                             'modalities, so that the head\'s in_channels '
                             'does not depend on the input')
        self.modalities: Optional[Tuple[str, ...]] = modalities
        self.mode = mode

    def out_channels(self, embed_dims: int) -> int:
        """Channels of the map for tokens of width ``embed_dims``."""
        if self.mode == 'concat':
            return embed_dims * len(self.modalities)
        return embed_dims

    def __call__(self, patch_tokens: Tensor, layout: TokenLayout) -> Tensor:
        names = self.modalities or tuple(layout.modalities)
        missing = [m for m in names if m not in layout.modalities]
        if missing:
            raise KeyError(f'{self!r} reads modalities {list(names)}, but the '
                           f'tokens hold only {list(layout.modalities)} '
                           f'(missing {missing})')
        B, N, D = patch_tokens.shape
        if N != layout.num_patch:
            raise ValueError(f'{self!r}: got {N} patch tokens, the layout '
                             f'has {layout.num_patch}')
        grids = {m: layout.grids[m] for m in names}
        if len(set(grids.values())) != 1:
            raise ValueError(f'{self!r}: the modalities read give different '
                             f'token grids {grids}; feed inputs of one size')
        h, w = grids[names[0]]
        # Layout slices count from the start of the whole sequence (prompts
        # first); patch_tokens starts at the first patch token.
        offset = layout.patch_slice.start
        parts = [
            patch_tokens[:, layout.modalities[m].start - offset:
                         layout.modalities[m].stop - offset] for m in names
        ]  # each B (h w) D
        if self.mode == 'concat':
            x = torch.cat(parts, dim=-1)  # B (h w) (n D)
        else:
            x = torch.stack(parts, dim=1).mean(1)  # B (h w) D
        # B (h w) C -> B C h w
        return x.transpose(1, 2).reshape(B, x.shape[-1], h, w)

    def __repr__(self) -> str:
        return (f'TokenReadout(modalities={self.modalities}, '
                f'mode={self.mode!r})')
