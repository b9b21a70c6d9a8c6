"""DPT's fusion path: residual conv units and fusion blocks.

As in DPT's and MultiMAE's ``ResidualConvUnit_custom``, the two 3x3 convs of
a residual unit carry a bias unless a norm follows them. mmseg's
``PreActResidualConvUnit`` has the same structure but never a bias, which
drops 14 conv biases of a reference DPT head (two units in each of the four
fusion blocks, less the deepest block's unused skip unit).
"""
from typing import Optional

from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmseg.models.utils import resize
from torch import Tensor


class ResidualConvUnit(BaseModule):
    """Pre-activation residual unit: ``x + conv2(act(conv1(act(x))))``.

    Args:
        channels (int): Channels in and out.
        act_cfg (dict): Activation before each conv. It never works in
            place, so the input (the residual) is left intact.
        norm_cfg (dict, optional): Norm after each conv; the convs have a
            bias exactly when there is none (DPT: ``bias=not bn``).

    Shapes:
        x: (B, C, h, w) -> (B, C, h, w)
    """

    def __init__(self, channels: int, act_cfg: dict,
                 norm_cfg: Optional[dict] = None):
        super().__init__()
        conv = dict(kernel_size=3, padding=1, norm_cfg=norm_cfg,
                    act_cfg=act_cfg, bias='auto', inplace=False,
                    order=('act', 'conv', 'norm'))
        self.conv1 = ConvModule(channels, channels, **conv)
        self.conv2 = ConvModule(channels, channels, **conv)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.conv1(x))


class FusionBlock(BaseModule):
    """One DPT fusion step: (coarse [+ residual unit of the skip]) ->
    residual unit -> x2 bilinear upsampling -> 1x1 projection.

    The structure and parameter names of mmseg's ``FeatureFusionBlock``,
    with DPT's biased residual units; the deepest block (``with_skip=False``)
    is built without the skip's residual unit, which DPT creates but never
    calls.

    Args:
        channels (int): Channels in and out.
        act_cfg (dict): Activation of the residual conv units.
        norm_cfg (dict, optional): Norm of the residual conv units.
        with_skip (bool): Takes a finer skip map. Defaults to True.
        align_corners (bool): Of the x2 upsampling. Defaults to True (DPT).

    Shapes:
        x: (B, C, h, w) [, skip: (B, C, h, w)] -> (B, C, 2h, 2w)
    """

    def __init__(self,
                 channels: int,
                 act_cfg: dict,
                 norm_cfg: Optional[dict] = None,
                 with_skip: bool = True,
                 align_corners: bool = True):
        super().__init__()
        self.with_skip = with_skip
        self.align_corners = align_corners
        self.res_conv_unit1 = ResidualConvUnit(
            channels, act_cfg, norm_cfg) if with_skip else None
        self.res_conv_unit2 = ResidualConvUnit(channels, act_cfg, norm_cfg)
        self.project = ConvModule(channels, channels, kernel_size=1,
                                  act_cfg=None, bias=True)

    def forward(self, x: Tensor, skip: Optional[Tensor] = None) -> Tensor:
        if (skip is not None) != self.with_skip:
            raise ValueError('FusionBlock built with with_skip='
                             f'{self.with_skip} called with'
                             f'{"" if skip is not None else "out"} a skip map')
        if skip is not None:
            if skip.shape != x.shape:
                raise ValueError(f'FusionBlock: skip {tuple(skip.shape)} and '
                                 f'coarse map {tuple(x.shape)} differ')
            x = x + self.res_conv_unit1(skip)
        x = self.res_conv_unit2(x)
        x = resize(x, scale_factor=2, mode='bilinear',
                   align_corners=self.align_corners)
        return self.project(x)
