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

Any task kind (``task_kind.py``): ``kind='normals'`` gives 3 L2-normalised
channels, ``'boundary'`` / ``'saliency'`` one sigmoid channel, ``'parts'``
human-part logits read from ``gt_parts``; the segmentation path is mmseg's
own, unchanged.
"""
import math
from typing import List, Optional

import torch.nn as nn
from mmpretrain.models.backbones.convnext import ConvNeXtBlock
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import check_with_cp, checkpoint_call
from .task_kind import TaskKindMixin, get_task_kind


@MODELS.register_module()
class ConvNeXtHead(TaskKindMixin, BaseDecodeHead):
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
        kind (str): Task kind (``task_kind.TASK_KINDS``). Defaults to
            ``'segmentation'``. Other than segmentation and parts, the kind
            fixes ``num_classes`` (the output channels) and the default
            ``loss_decode``.
        gt_field (str, optional): Ground-truth field; the kind's default
            when None (``gt_sem_seg`` for segmentation).
        pred_field (str, optional): Prediction field; the kind's default
            when None.
        with_cp (bool): Activation checkpointing of each ConvNeXt block in
            training (non-reentrant; same gradients, the blocks' 4x-wide MLP
            activations are recomputed instead of kept). Defaults to False.
        channels_last (bool): Run the blocks on a channels-last (NHWC)
            map: the token-to-pixel reshape writes it directly and the
            blocks' NHWC MLP needs no transposing copy. Same outputs
            (to float rounding). Defaults to True: 0.93x the forward +
            backward time of the ViT-B head at 640x640 on a CPU
            (docs/performance.md).
        **kwargs: ``num_classes``, ``in_index``, ``loss_decode``,
            ``ignore_index``, ``align_corners``, ``init_cfg`` ... of mmseg's
            ``BaseDecodeHead``.

    Shapes:
        inputs: tuple of (B, D, h, w) -> forward: (B, num_classes,
        h * sqrt(p), w * sqrt(p)) raw outputs (logits; normals before
        normalisation)
    """

    def __init__(self,
                 in_channels: int = 768,
                 channels: int = 384,
                 preds_per_patch: int = 16,
                 num_blocks: int = 4,
                 drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 0.,
                 dropout_ratio: float = 0.,
                 kind: str = 'segmentation',
                 gt_field: Optional[str] = None,
                 pred_field: Optional[str] = None,
                 with_cp: bool = False,
                 channels_last: bool = True,
                 **kwargs):
        spec = get_task_kind(kind, 'ConvNeXtHead')
        kwargs.setdefault('loss_decode', spec.loss_cfg())
        if not spec.is_classification:
            num_classes = kwargs.setdefault('num_classes', spec.out_channels)
            if num_classes != spec.out_channels:
                raise ValueError(f'ConvNeXtHead: kind "{spec.name}" has '
                                 f'{spec.out_channels} output channels, got '
                                 f'num_classes={num_classes}')
            # mmseg reads a 1-channel head as binary segmentation and warns
            # without a threshold; these kinds never threshold.
            kwargs.setdefault('threshold', 0.5)
        super().__init__(in_channels, channels, dropout_ratio=dropout_ratio,
                         **kwargs)
        self._init_task_kind(kind, gt_field, pred_field)
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
        if with_cp:
            check_with_cp(f'ConvNeXtHead (num_blocks={num_blocks})',
                          num_blocks, 'ConvNeXt blocks')
        self.with_cp = with_cp
        self.channels_last = channels_last

    def forward(self, inputs) -> Tensor:
        x = self._transform_inputs(inputs)
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'ConvNeXtHead expects (B, {self.in_channels}, '
                             f'h, w) at in_index {self.in_index}, got '
                             f'{tuple(x.shape)}')
        B, _, h, w = x.shape
        s, c = self.side, self.channels
        x = self.proj_dec(x.permute(0, 2, 3, 1))  # B h w (p C')
        x = x.reshape(B, h, w, s, s, c)
        if self.channels_last:
            # B h s w s C' -> (B, C', h s, w s) view of NHWC memory
            x = x.permute(0, 1, 3, 2, 4, 5).reshape(B, h * s, w * s, c)
            x = x.permute(0, 3, 1, 2)
        else:
            # B C' h s w s -> B C' (h s) (w s): each token fills an s x s
            # block
            x = x.permute(0, 5, 1, 3, 2, 4).reshape(B, c, h * s, w * s)
        cp = self.with_cp and self.training
        for block in self.blocks:
            x = checkpoint_call(cp, block, x)
        return self.cls_seg(x)

    # ------------------------------------------------------ kind-aware I/O
    def _stack_batch_gt(self, batch_data_samples: list) -> Tensor:
        """mmseg's ground-truth stacking, from ``gt_field``."""
        return self.stack_task_gt(batch_data_samples)

    def loss_by_feat(self, seg_logits: Tensor,
                     batch_data_samples: list) -> dict:
        if self.task_kind.is_classification:
            return super().loss_by_feat(seg_logits, batch_data_samples)
        return self.task_loss_by_feat(seg_logits, batch_data_samples)

    def predict_by_feat(self, seg_logits: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """Resized to the input (mmseg), then the kind's activation."""
        return self.activate_task(
            super().predict_by_feat(seg_logits, batch_img_metas))
