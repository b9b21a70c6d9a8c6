"""Base class of depth heads, with mmseg's decode-head conventions.

``loss()`` = ``forward()`` -> ``loss_by_feat()`` and ``predict()`` =
``forward()`` -> ``predict_by_feat()``, as in mmseg's ``BaseDecodeHead``; the
ground truth is the data samples' ``gt_depth_map`` (metres, 0 = invalid).

The same regression trunk serves the other dense kinds (``task_kind.py``):
with ``kind='normals'`` (3 channels), ``'boundary'``, ``'saliency'`` (1
channel) or ``'segmentation'`` / ``'parts'`` (``num_classes`` channels) the
output is raw, the loss is the kind's and ``predict_by_feat`` applies the
kind's activation instead of the depth clamp.
"""
from abc import ABCMeta, abstractmethod
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmseg.models.utils import resize
from torch import Tensor

from mmmae.registry import MODELS
from .task_kind import TaskKindMixin


class BaseDepthHead(TaskKindMixin, BaseModule, metaclass=ABCMeta):
    """Depth regression head: features -> (B, 1, h, w) depth in metres.

    The last layer's raw output goes through ``depth_act`` so that the head
    predicts metric depth directly:

    - ``'softplus'`` (this base class's default): smooth and > 0
      everywhere, so no pixel stops learning and the log in SiLog / delta
      metrics stays finite;
    - ``'relu'``: DPT's ``non_negative`` output; pixels below 0 get no
      gradient;
    - ``'sigmoid'``: ``max_depth * sigmoid(x)`` (bounded, as mmseg's VPD);
    - ``'none'``: the raw value, as MultiMAE's DPT regresses it (the
      default of ``MultiMAEDPTHead``).

    Predictions are clamped to ``[min_depth, max_depth]`` at test time only.

    Args:
        in_channels (int | Sequence[int]): Channels of the selected inputs.
        in_index (int | Sequence[int]): Which backbone outputs to use.
        loss_decode (dict | Sequence[dict], optional): Loss config(s); each
            loss has a ``loss_name``. None (default): the kind's default
            (``BerHuLoss`` for depth).
        depth_act (str): See above. Defaults to ``'softplus'``.
        min_depth (float): Lower clamp of predictions. Defaults to 1e-3.
        max_depth (float): Upper clamp of predictions (and the sigmoid
            range). Defaults to 10.0 (NYUv2).
        init_depth (float, optional): Start the prediction at this depth
            (metres) everywhere by setting the bias of the last layer (see
            ``last_layer``). A start near the data's typical depth keeps the
            first large errors (and BerHu's quadratic branch) from pushing a
            softplus / ReLU output into its flat region. None (default)
            keeps the layer's own initialisation.
        align_corners (bool): Of the bilinear resizes. Defaults to False.
        kind (str): Task kind. Defaults to ``'depth'``; any other needs
            ``depth_act='none'`` and no ``init_depth``.
        num_classes (int, optional): Output channels of the segmentation
            and parts kinds (the others fix their own).
        ignore_index (int): Ignored label of segmentation-like kinds.
            Defaults to 255.
        gt_field (str, optional): Ground-truth field; None: the kind's
            (``gt_depth_map``).
        pred_field (str, optional): Prediction field; None: the kind's
            (``pred_depth_map``).
        init_cfg (dict, optional): Initialisation config.

    Shapes:
        inputs: tuple of (B, C_i, h_i, w_i) -> forward: (B, C, h, w), C = 1
        for depth (metres)
        gt_depth_map.data: (1, H, W) per sample
    """

    _acts = ('softplus', 'relu', 'sigmoid', 'none')

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 in_index: Union[int, Sequence[int]] = -1,
                 loss_decode=None,
                 depth_act: str = 'softplus',
                 min_depth: float = 1e-3,
                 max_depth: float = 10.0,
                 init_depth: Optional[float] = None,
                 align_corners: bool = False,
                 kind: str = 'depth',
                 num_classes: Optional[int] = None,
                 ignore_index: int = 255,
                 gt_field: Optional[str] = None,
                 pred_field: Optional[str] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self._init_task_kind(kind, gt_field, pred_field)
        spec = self.task_kind
        if spec.is_classification:
            if not num_classes or num_classes < 1:
                raise ValueError(f'{type(self).__name__}: kind "{kind}" '
                                 f'needs num_classes, got {num_classes}')
            self.out_channels = num_classes
        elif num_classes not in (None, spec.out_channels):
            raise ValueError(f'{type(self).__name__}: kind "{kind}" has '
                             f'{spec.out_channels} output channels, got '
                             f'num_classes={num_classes}')
        else:
            self.out_channels = spec.out_channels
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        if kind != 'depth' and (depth_act != 'none' or
                                init_depth is not None):
            raise ValueError(f'{type(self).__name__}: depth_act '
                             f'"{depth_act}" / init_depth {init_depth} are '
                             f'depth options; kind "{kind}" needs '
                             "depth_act='none' and init_depth=None")
        if loss_decode is None:
            loss_decode = spec.loss_cfg()
        if isinstance(in_index, int) != isinstance(in_channels, int):
            raise TypeError('in_index and in_channels must both be ints or '
                            f'both sequences, got {in_index} and '
                            f'{in_channels}')
        if not isinstance(in_index, int) and len(in_index) != len(
                in_channels):
            raise ValueError(f'in_index {in_index} and in_channels '
                             f'{in_channels} differ in length')
        if depth_act not in self._acts:
            raise ValueError(f'depth_act "{depth_act}" is not one of '
                             f'{self._acts}')
        self.in_channels = in_channels
        self.in_index = in_index
        self.depth_act = depth_act
        self.min_depth = min_depth
        self.max_depth = max_depth
        if init_depth is not None and not min_depth < init_depth < max_depth:
            raise ValueError(f'init_depth {init_depth} must lie in '
                             f'({min_depth}, {max_depth})')
        self.init_depth = init_depth
        self.align_corners = align_corners
        if isinstance(loss_decode, dict):
            loss_decode = [loss_decode]
        elif not isinstance(loss_decode, (list, tuple)):
            raise TypeError('loss_decode must be a dict or a sequence of '
                            f'dicts, got {type(loss_decode).__name__}')
        self.loss_decode = nn.ModuleList(
            [MODELS.build(cfg) for cfg in loss_decode])

    # ----------------------------------------------------------- features
    def _transform_inputs(self, inputs: Sequence[Tensor]
                          ) -> Union[Tensor, List[Tensor]]:
        """Select the backbone outputs named by ``in_index``."""
        n = len(inputs)
        idx = [self.in_index] if isinstance(self.in_index,
                                            int) else self.in_index
        for i in idx:
            if not -n <= i < n:
                raise IndexError(f'{type(self).__name__}: in_index {i} is '
                                 f'outside the {n} backbone outputs')
        if isinstance(self.in_index, int):
            return inputs[self.in_index]
        return [inputs[i] for i in self.in_index]

    def activate(self, x: Tensor) -> Tensor:
        """Raw regression output -> depth in metres (see ``depth_act``)."""
        if self.depth_act == 'softplus':
            return F.softplus(x)
        if self.depth_act == 'relu':
            return F.relu(x)
        if self.depth_act == 'sigmoid':
            return torch.sigmoid(x) * self.max_depth
        return x

    def inverse_activate(self, depth: float) -> float:
        """The raw output that ``activate`` maps to ``depth`` metres."""
        if self.depth_act == 'softplus':
            return math.log(math.expm1(depth))
        if self.depth_act == 'sigmoid':
            p = depth / self.max_depth
            return math.log(p / (1 - p))
        return depth

    @property
    def last_layer(self) -> Optional[nn.Module]:
        """The layer whose bias ``init_depth`` sets; None if there is none."""
        return None

    def _init_depth_bias(self) -> None:
        layer = self.last_layer
        if self.init_depth is None:
            return
        if layer is None or getattr(layer, 'bias', None) is None:
            raise TypeError(f'{type(self).__name__} has no last layer with '
                            'a bias, so init_depth cannot be used')
        with torch.no_grad():
            layer.bias.fill_(self.inverse_activate(self.init_depth))

    def init_weights(self) -> None:
        super().init_weights()
        self._init_depth_bias()

    @abstractmethod
    def forward(self, inputs: Tuple[Tensor, ...]) -> Tensor:
        """Backbone outputs -> (B, 1, h, w) depth in metres."""

    # --------------------------------------------------------------- loss
    def loss(self, inputs: Tuple[Tensor, ...], batch_data_samples: list,
             train_cfg=None) -> dict:
        return self.loss_by_feat(self.forward(inputs), batch_data_samples)

    def _stack_batch_gt(self, batch_data_samples: list) -> Tensor:
        return self.stack_task_gt(batch_data_samples).float()

    def loss_by_feat(self, pred_depth: Tensor,
                     batch_data_samples: list) -> dict:
        """Losses at the ground-truth resolution, plus a logged ``rmse``.

        Returns:
            dict: ``{loss_name: loss}`` per loss and ``rmse`` (metres, over
            valid pixels; not backpropagated). Other kinds: see
            ``TaskKindMixin.task_loss_by_feat``.
        """
        if self.kind != 'depth':
            return self.task_loss_by_feat(pred_depth, batch_data_samples)
        gt = self._stack_batch_gt(batch_data_samples).to(pred_depth)
        pred = resize(pred_depth, size=gt.shape[2:], mode='bilinear',
                      align_corners=self.align_corners)
        losses = {}
        for loss_fn in self.loss_decode:
            value = loss_fn(pred, gt)
            name = loss_fn.loss_name
            losses[name] = losses[name] + value if name in losses else value
        with torch.no_grad():
            valid = gt > 0
            if valid.any():
                rmse = (pred - gt)[valid].pow(2).mean().sqrt()
            else:
                rmse = pred.new_zeros(())
        losses['rmse'] = rmse
        return losses

    # ------------------------------------------------------------ predict
    def predict(self, inputs: Tuple[Tensor, ...], batch_img_metas: List[dict],
                test_cfg=None) -> Tensor:
        return self.predict_by_feat(self.forward(inputs), batch_img_metas)

    def predict_by_feat(self, pred_depth: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """Resize to the (padded) input and clamp to the valid range.

        Follows mmseg's ``BaseDecodeHead.predict_by_feat``: the target size is
        ``pad_shape`` when present, else ``img_shape``.
        """
        meta = batch_img_metas[0]
        size = meta['pad_shape'][:2] if 'pad_shape' in meta \
            else meta['img_shape'][:2]
        pred = resize(pred_depth, size=tuple(size), mode='bilinear',
                      align_corners=self.align_corners)
        if self.kind != 'depth':
            return self.activate_task(pred)
        return pred.clamp(self.min_depth, self.max_depth)
