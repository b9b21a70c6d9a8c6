"""DPT depth head (Ranftl et al., ICCV 2021) as MultiMAE fine-tunes it.

Faithful to MultiMAE's DPT output adapter (``DPTOutputAdapter``, regression
head): four tapped ViT outputs (the global token is ignored; the readout
already drops it) are reassembled to 96/192/384/768 channels at strides
4/8/16/32 (1x1 conv, then 4x / 2x transposed conv, identity, 3x3 stride-2
conv), brought to 256 channels by bias-free 3x3 convs, fused coarse to fine
by four fusion blocks (two pre-activation residual conv units with biased
3x3 convs, x2 bilinear upsampling with ``align_corners=True``, biased 1x1
projection), and regressed by conv 256->128, x2 upsampling, conv 128->32,
ReLU, 1x1 conv -> 1. The reassemble blocks are mmseg's
``ReassembleBlocks`` (same structure); the fusion blocks are in
``dpt_blocks.py``. The raw output is the depth (``depth_act='none'``, as the
reference regresses raw values); ``depth_act`` offers bounded or positive
alternatives (see ``BaseDepthHead``). A reference checkpoint converts with
``tools/model_converters/multimae2mmmae.py``.

Light variant (a config knob, nothing else): ``channels=64,
post_process_channels=(48, 96, 192, 384)``.

Other kinds (``kind='normals'``, ``'boundary'``, ...; ``BaseDepthHead``):
the last 1x1 conv has the kind's channels, the rest is unchanged.
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmseg.models.decode_heads.dpt_head import ReassembleBlocks
from mmseg.models.utils import resize
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import checkpoint_call
from .base_depth_head import BaseDepthHead
from .dpt_blocks import FusionBlock, ResidualConvUnit

__all__ = ['MultiMAEDPTHead', 'FusionBlock', 'ResidualConvUnit']


@MODELS.register_module()
class MultiMAEDPTHead(BaseDepthHead):
    """DPT regression head on four ViT feature maps.

    Args:
        embed_dims (int): Channels of each input map: the token width D, or
            D x n when the readout concatenates n modalities (MultiMAE's
            ``dim_tokens_enc * len(main_tasks)``).
        in_index (Sequence[int]): Four indices into the backbone outputs,
            shallow to deep. With ``out_indices=(2, 5, 8, 11)`` on ViT-B this
            is ``(0, 1, 2, 3)``; repeats are allowed for shallow backbones.
        post_process_channels (Sequence[int]): Reassembled channels at
            strides 4, 8, 16, 32. Defaults to (96, 192, 384, 768).
        channels (int): Fusion width. Defaults to 256.
        head_channels (Sequence[int]): Widths of the two regression convs.
            Defaults to (128, 32) (DPT).
        patch_size (int): Backbone patch size; only checked against the
            reassemble strides. Defaults to 16.
        act_cfg (dict): Activation of the residual conv units.
        norm_cfg (dict, optional): Norm of the residual conv units; None as
            in MultiMAE.
        depth_act (str): Output activation. Defaults to ``'none'``: the
            raw regression, as the reference.
        with_cp (bool): Activation checkpointing in training
            (non-reentrant) of the reassemble blocks, each fusion block and
            the regression convs: the stride-2 and full-resolution maps are
            recomputed in the backward pass instead of kept. Same
            gradients. Defaults to False.
        channels_last (bool): Run the convolutions on channels-last
            (NHWC) maps. Same outputs (to float rounding). Defaults to
            True: 0.83x the forward + backward time of the ViT-B head at
            640x640 on a CPU (docs/performance.md).
        **kwargs: ``loss_decode``, ``min_depth``, ``max_depth``,
            ``init_depth``, ``align_corners``, ``kind``, ``num_classes``,
            ``gt_field``, ``pred_field``, ``init_cfg`` of ``BaseDepthHead``.

    Shapes:
        inputs: tuple of (B, D, H/P, W/P) -> (B, C, H*16/P, W*16/P); C = 1
        metres for depth (full input resolution for P = 16)
    """

    def __init__(self,
                 embed_dims: int = 768,
                 in_index: Sequence[int] = (0, 1, 2, 3),
                 post_process_channels: Sequence[int] = (96, 192, 384, 768),
                 channels: int = 256,
                 head_channels: Sequence[int] = (128, 32),
                 patch_size: int = 16,
                 act_cfg=dict(type='ReLU'),
                 norm_cfg=None,
                 depth_act: str = 'none',
                 with_cp: bool = False,
                 channels_last: bool = True,
                 **kwargs):
        in_index = tuple(in_index)
        if len(in_index) != 4 or len(post_process_channels) != 4:
            raise ValueError('MultiMAEDPTHead needs 4 in_index and 4 '
                             f'post_process_channels, got {in_index} and '
                             f'{tuple(post_process_channels)}')
        super().__init__(in_channels=[embed_dims] * 4, in_index=in_index,
                         depth_act=depth_act, **kwargs)
        self.embed_dims = embed_dims
        self.channels = channels
        self.patch_size = patch_size
        self.post_process_channels = tuple(post_process_channels)
        self.reassemble_blocks = ReassembleBlocks(
            embed_dims, list(post_process_channels), 'ignore', patch_size)
        self.convs = nn.ModuleList([
            nn.Conv2d(c, channels, 3, padding=1, bias=False)
            for c in post_process_channels
        ])
        # The deepest fusion block has nothing to merge.
        self.fusion_blocks = nn.ModuleList([
            FusionBlock(channels, act_cfg, norm_cfg, with_skip=i > 0)
            for i in range(4)
        ])
        mid, last = head_channels
        self.conv_depth = nn.Sequential(
            nn.Conv2d(channels, mid, 3, padding=1),
            nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True),
            nn.Conv2d(mid, last, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(last, self.out_channels, 1))
        self.with_cp = with_cp
        self.channels_last = channels_last
        self._init_depth_bias()

    @property
    def last_layer(self) -> nn.Module:
        return self.conv_depth[-1]

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tensor:
        feats = self._transform_inputs(inputs)
        for i, x in enumerate(feats):
            if x.dim() != 4 or x.shape[1] != self.embed_dims:
                raise ValueError(f'MultiMAEDPTHead input {i} must be (B, '
                                 f'{self.embed_dims}, h, w), got '
                                 f'{tuple(x.shape)}')
        if self.channels_last:
            feats = [f.contiguous(memory_format=torch.channels_last)
                     for f in feats]
        cp = self.with_cp and self.training
        # ReassembleBlocks takes (map, cls token) pairs; the readout is
        # 'ignore', so the global token is not needed.
        x = checkpoint_call(cp, self.reassemble_blocks,
                            [[f, None] for f in feats])
        # strides 4, 8, 16, 32 (P = 16) -> all `channels` wide
        x = [conv(f) for conv, f in zip(self.convs, x)]
        out = checkpoint_call(cp, self.fusion_blocks[0], x[-1])
        for i in range(1, 4):
            skip = x[-(i + 1)]
            if out.shape[2:] != skip.shape[2:]:
                # Odd token grids: the x2 upsampled coarse path overshoots
                # the finer map by a pixel; fit it to the finer map (mmseg's
                # block would resize the finer map instead and so change the
                # output size).
                out = resize(out, size=skip.shape[2:], mode='bilinear',
                             align_corners=self.align_corners)
            out = checkpoint_call(cp, self.fusion_blocks[i], out, skip)
        # out: stride 2 -> conv_depth upsamples to stride 1
        out = checkpoint_call(cp, self.conv_depth, out)
        return self.activate(out)
