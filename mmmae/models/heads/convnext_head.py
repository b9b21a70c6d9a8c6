"""ConvNeXt semantic segmentation head: MultiMAE's ConvNeXt adapter.

Faithful to MultiMAE's ``ConvNeXtAdapter``: the patch tokens of the last
block (global token dropped; the readout does that) go through one
``Linear(C_in -> preds_per_patch * C')``; each token's output is laid out as
a sqrt(p) x sqrt(p) block of C'-channel pixels (p = 16 -> stride 4 for 16 px
patches), then ``num_blocks`` ConvNeXt blocks (mmpretrain's: 7x7 depthwise
conv, LayerNorm, MLP x4, no layer scale as in the reference), a 1x1 conv to
the classes, and bilinear upsampling (done by mmseg's ``loss_by_feat`` /
``predict_by_feat``, so ``forward`` returns stride-4 logits). Defaults are
MultiMAE's ViT-B ones: C' = 6144 / 16 = 384, 4 blocks. ``C_in`` is D, or
D x n when the segmentor's readout concatenates n modalities' tokens
(MultiMAE's ``main_tasks``). A reference checkpoint converts with
``tools/model_converters/multimae2mmmae.py``.

Light variant (config knobs): a smaller ``channels`` (e.g. 96) and fewer
``num_blocks`` (e.g. 1).
"""
import math

import torch.nn as nn
from mmpretrain.models.backbones.convnext import ConvNeXtBlock
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

from mmmae.registry import MODELS


@MODELS.register_module()
class ConvNeXtHead(BaseDecodeHead):
    """MultiMAE's ConvNeXt adapter as an mmseg decode head.

    Args:
        in_channels (int): Channels of the read-out map: D, or D x n for a
            readout that concatenates n modalities. Defaults to 768.
        channels (int): C', the width of the stride-``P/sqrt(p)`` map and of
            the ConvNeXt blocks. Defaults to 384.
        preds_per_patch (int): p, a square number. Defaults to 16.
        num_blocks (int): ConvNeXt blocks. Defaults to 4.
        drop_path_rate (float): Stochastic depth in the blocks (linear over
            them). Defaults to 0.
        layer_scale_init_value (float): Initial layer scale of the
            blocks; 0 builds none. Defaults to 0 (the reference has none;
            ConvNeXt's own 1e-6 is the usual option).
        dropout_ratio (float): Dropout before the 1x1 classifier. Defaults
            to 0 (MultiMAE has none; mmseg's default would be 0.1).
        **kwargs: ``num_classes``, ``in_index``, ``loss_decode``,
            ``ignore_index``, ``align_corners``, ``init_cfg`` ... of mmseg's
            ``BaseDecodeHead``.

    Shapes:
        inputs: tuple of (B, D, h, w) -> forward: (B, num_classes,
        h * sqrt(p), w * sqrt(p)) logits
    """

    def __init__(self,
                 in_channels: int = 768,
                 channels: int = 384,
                 preds_per_patch: int = 16,
                 num_blocks: int = 4,
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 0.,
                 dropout_ratio: float = 0.,
                 **kwargs):
        kwargs.setdefault('loss_decode',
                          dict(type='mmseg.CrossEntropyLoss',
                               avg_non_ignore=True, loss_weight=1.0))
        super().__init__(in_channels, channels, dropout_ratio=dropout_ratio,
                         **kwargs)
        side = math.isqrt(preds_per_patch)
        if side * side != preds_per_patch:
            raise ValueError('ConvNeXtHead: preds_per_patch must be a square '
                             f'number, got {preds_per_patch}')
        self.preds_per_patch = preds_per_patch
        self.side = side
        self.proj_dec = nn.Linear(in_channels, preds_per_patch * channels)
        dpr = [drop_path_rate * i / max(num_blocks - 1, 1)
               for i in range(num_blocks)]
        self.blocks = nn.Sequential(*[
            ConvNeXtBlock(channels, drop_path_rate=dpr[i],
                          layer_scale_init_value=layer_scale_init_value)
            for i in range(num_blocks)
        ])

    def forward(self, inputs) -> Tensor:
        x = self._transform_inputs(inputs)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'ConvNeXtHead expects (B, {self.in_channels}, '
                             f'h, w) at in_index {self.in_index}, got '
                             f'{tuple(x.shape)}')
        B, _, h, w = x.shape
        s, c = self.side, self.channels
        x = self.proj_dec(x.permute(0, 2, 3, 1))  # B h w (p C')
        # B h w (s s C') -> B C' (h s) (w s): each token fills an s x s block
        x = x.reshape(B, h, w, s, s, c).permute(0, 5, 1, 3, 2, 4)
        x = x.reshape(B, c, h * s, w * s)
        x = self.blocks(x)
        return self.cls_seg(x)
