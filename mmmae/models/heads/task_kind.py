"""Kinds of dense tasks: fields, output channels, activation, default loss.

A head declares its task ``kind``; the kind fixes what the head's output
means and how it is trained, as the dense multi-task literature does it
(ATRC / InvPT / TaskPrompter ``losses/loss_functions.py``):

==============  ==============  ===============  ====  ==========  =========================
kind            gt field        prediction       C     activation  default loss
==============  ==============  ===============  ====  ==========  =========================
segmentation    gt_sem_seg      pred_sem_seg     K     (argmax)    CE, ignore 255
parts           gt_parts        pred_parts       K     (argmax)    CE, ignore 255
depth           gt_depth_map    pred_depth_map   1     head's own  BerHu
normals         gt_normals      pred_normals     3     L2-norm     L1 on valid pixels
boundary        gt_edge         pred_edge        1     sigmoid     balanced BCE, w = 0.95
saliency        gt_sal          pred_sal         1     sigmoid     balanced BCE, w per batch
==============  ==============  ===============  ====  ==========  =========================

Segmentation-like kinds also write their logits to ``seg_logits``
(``pred_sem_seg``) or ``<name>_logits`` (``pred_<name>``). The fields are
per head options, so two tasks of one kind can live in one data sample.
``'semseg'`` is accepted as another name of ``'segmentation'``.

:class:`TaskKindMixin` gives a head the kind-aware ground-truth stacking,
loss and activation; ``ConvNeXtHead`` and ``MultiMAEDPTHead`` use it.
"""
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmseg.models.losses import accuracy
from mmseg.models.utils import resize
from torch import Tensor


@dataclass(frozen=True)
class TaskKind:
    """What one kind of dense task predicts and learns from.

    Attributes:
        name: The kind's name.
        gt_field: Default data-sample field of the ground truth.
        pred_field: Default data-sample field of the prediction.
        out_channels: Output channels; None means ``num_classes``.
        activation: ``'none'`` (logits or metres), ``'l2norm'`` or
            ``'sigmoid'``, applied by ``predict_by_feat``.
        default_loss: Loss config used when a head sets none.
        flip_channels: Channels whose sign a horizontal / vertical flip
            negates (x / y of a camera-frame normal, x right, y down, as
            the datasets' ``flip_map``); None for flip-invariant outputs.
    """
    name: str
    gt_field: str
    pred_field: str
    out_channels: Optional[int]
    activation: str
    default_loss: Tuple[Tuple[str, object], ...]
    flip_channels: Optional[Tuple[int, int]] = None

    @property
    def is_classification(self) -> bool:
        return self.out_channels is None

    def loss_cfg(self) -> dict:
        return dict(self.default_loss)


_CE = (('type', 'mmseg.CrossEntropyLoss'), ('avg_non_ignore', True),
       ('loss_weight', 1.0))
TASK_KINDS: Dict[str, TaskKind] = {
    k.name: k
    for k in (
        TaskKind('segmentation', 'gt_sem_seg', 'pred_sem_seg', None, 'none',
                 _CE),
        TaskKind('parts', 'gt_parts', 'pred_parts', None, 'none', _CE),
        TaskKind('depth', 'gt_depth_map', 'pred_depth_map', 1, 'none',
                 (('type', 'BerHuLoss'), )),
        TaskKind('normals', 'gt_normals', 'pred_normals', 3, 'l2norm',
                 (('type', 'NormalsL1Loss'), ), flip_channels=(0, 1)),
        TaskKind('boundary', 'gt_edge', 'pred_edge', 1, 'sigmoid',
                 (('type', 'BalancedBinaryCrossEntropyLoss'),
                  ('pos_weight', 0.95), ('loss_name', 'loss_edge'))),
        TaskKind('saliency', 'gt_sal', 'pred_sal', 1, 'sigmoid',
                 (('type', 'BalancedBinaryCrossEntropyLoss'),
                  ('pos_weight', None), ('loss_name', 'loss_sal'))),
    )
}
_ALIASES = {'semseg': 'segmentation'}


def get_task_kind(name: str, owner: str = 'head') -> TaskKind:
    """The :class:`TaskKind` called ``name`` (or an alias of it)."""
    kind = TASK_KINDS.get(_ALIASES.get(name, name))
    if kind is None:
        raise ValueError(f'{owner}: unknown task kind "{name}"; expected one '
                         f'of {list(TASK_KINDS)} (or "semseg")')
    return kind


def logits_field(pred_field: str) -> str:
    """Where a segmentation-like kind keeps its logits: mmseg's
    ``seg_logits`` for ``pred_sem_seg``, ``<name>_logits`` otherwise."""
    if pred_field == 'pred_sem_seg':
        return 'seg_logits'
    name = pred_field[5:] if pred_field.startswith('pred_') else pred_field
    return f'{name}_logits'


class TaskKindMixin:
    """Kind-aware ground truth, loss and activation for a dense head.

    The host class must have ``loss_decode`` (a module or a ModuleList),
    ``align_corners`` and, for segmentation-like kinds, ``ignore_index``.
    """

    def _init_task_kind(self, kind: str, gt_field: Optional[str],
                        pred_field: Optional[str]) -> None:
        spec = get_task_kind(kind, type(self).__name__)
        self.kind = spec.name
        self.gt_field = gt_field or spec.gt_field
        self.pred_field = pred_field or spec.pred_field
        for arg, value in (('gt_field', self.gt_field),
                           ('pred_field', self.pred_field)):
            if not value.startswith(arg[:-6] + '_'):
                raise ValueError(f'{type(self).__name__}: {arg} "{value}" '
                                 f'must start with "{arg[:-6]}_"')

    @property
    def task_kind(self) -> TaskKind:
        return TASK_KINDS[self.kind]

    def _losses(self) -> Sequence:
        losses = self.loss_decode
        return losses if isinstance(losses, (list, tuple, torch.nn.ModuleList
                                             )) else [losses]

    def stack_task_gt(self, batch_data_samples: list) -> Tensor:
        """The ``gt_field`` maps of a batch: (B, C_gt, H, W)."""
        gts = []
        for i, sample in enumerate(batch_data_samples):
            if self.gt_field not in sample:
                raise KeyError(
                    f'data sample {i} ({sample.metainfo.get("img_path")}) has '
                    f'no {self.gt_field}, which the {self.kind} head needs')
            gt = sample.get(self.gt_field).data
            gts.append(gt if gt.dim() == 3 else gt[None])
        return torch.stack(gts, dim=0)

    def task_loss_by_feat(self, pred: Tensor,
                          batch_data_samples: list) -> dict:
        """Every loss of ``loss_decode`` at the ground truth's resolution.

        Segmentation-like kinds also log ``acc_seg``; depth logs ``rmse``.

        Shapes:
            pred: (B, C, h, w) raw head output -> dict of scalars
        """
        gt = self.stack_task_gt(batch_data_samples).to(pred.device)
        pred = resize(pred, size=gt.shape[2:], mode='bilinear',
                      align_corners=self.align_corners)
        classify = self.task_kind.is_classification
        if classify:
            target = gt.squeeze(1).long()  # B H W
            kwargs = dict(ignore_index=self.ignore_index)
        else:
            target, kwargs = gt.to(pred.dtype), {}
        losses = {}
        for loss_fn in self._losses():
            value = loss_fn(pred, target, **kwargs)
            name = loss_fn.loss_name
            losses[name] = losses[name] + value if name in losses else value
        if classify:
            losses['acc_seg'] = accuracy(pred, target,
                                         ignore_index=self.ignore_index)
        elif self.kind == 'depth':
            with torch.no_grad():
                valid = target > 0
                losses['rmse'] = (pred - target)[valid].pow(2).mean().sqrt() \
                    if valid.any() else pred.new_zeros(())
        return losses

    def activate_task(self, pred: Tensor) -> Tensor:
        """Raw output -> the kind's prediction (unit normals,
        probabilities; logits and depth unchanged)."""
        act = self.task_kind.activation
        if act == 'l2norm':
            return F.normalize(pred, p=2, dim=1)
        if act == 'sigmoid':
            return pred.sigmoid()
        return pred
