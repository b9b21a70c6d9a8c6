"""mmseg's ``IoUMetric`` on any pair of label fields, so that semantic
segmentation and human parts (or any two segmentation tasks) can sit in one
evaluator."""
from typing import Optional, Sequence

import numpy as np
import torch
from mmseg.evaluation import IoUMetric

from mmmae.registry import METRICS
from ._utils import get_pixel_data, sample_name, save_prediction

# PASCAL-Context MT human parts (ASTMT / InvPT ``PART_CATEGORY_NAMES``).
PART_CLASSES = ('background', 'head', 'torso', 'uarm', 'larm', 'uleg', 'lleg')


@METRICS.register_module()
class TaskIoUMetric(IoUMetric):
    """``mmseg.IoUMetric`` reading ``pred_key`` / ``gt_key`` and its own
    class names.

    Everything else (intersection / union per class summed over the
    dataset, ``iou_metrics``, ``nan_to_num``, the per-class table) is
    mmseg's.

    Args:
        pred_key (str): Field of the predicted labels. Defaults to
            ``'pred_sem_seg'``.
        gt_key (str): Field of the ground-truth labels. Defaults to
            ``'gt_sem_seg'``.
        classes (Sequence[str], optional): Class names of this task; the
            number of classes is their count. Defaults to
            ``dataset_meta[classes_key]``.
        classes_key (str): Metainfo key read when ``classes`` is None.
            Defaults to ``'classes'``.
        **kwargs: ``IoUMetric`` arguments (``ignore_index``,
            ``iou_metrics``, ``nan_to_num``, ``prefix``, ...).

    Shapes:
        ``pred_key``, ``gt_key``: (1, H, W) or (H, W) integer labels.
    """

    def __init__(self,
                 pred_key: str = 'pred_sem_seg',
                 gt_key: str = 'gt_sem_seg',
                 classes: Optional[Sequence[str]] = None,
                 classes_key: str = 'classes',
                 **kwargs):
        if kwargs.get('format_only'):
            raise ValueError(f'{type(self).__name__}: format_only is not '
                             f'supported')
        super().__init__(**kwargs)
        self.pred_key = pred_key
        self.gt_key = gt_key
        self.classes = None if classes is None else tuple(classes)
        self.classes_key = classes_key

    # IoUMetric reads dataset_meta['classes'] for the class count and the
    # table; hand it this task's names instead.
    @property
    def dataset_meta(self) -> Optional[dict]:
        meta = dict(self._dataset_meta or {})
        if self.classes is not None:
            meta['classes'] = self.classes
        elif self.classes_key != 'classes':
            if self.classes_key not in meta:
                raise KeyError(f'{type(self).__name__}: the dataset metainfo '
                               f'has no {self.classes_key!r} (keys: '
                               f'{sorted(meta)}); pass classes=')
            meta['classes'] = meta[self.classes_key]
        elif 'classes' not in meta:
            raise KeyError(f'{type(self).__name__}: no class names: pass '
                           f'classes= or give the dataset metainfo classes')
        return meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta

    def _labels(self, ds: dict):
        name = type(self).__name__
        pred = get_pixel_data(ds, self.pred_key, name).squeeze()
        label = get_pixel_data(ds, self.gt_key, name).squeeze().to(pred)
        if pred.shape != label.shape:
            raise ValueError(f'{name}: {self.pred_key!r} {tuple(pred.shape)}'
                             f' and {self.gt_key!r} {tuple(label.shape)} of '
                             f'{sample_name(ds)} differ in size')
        return pred, label

    def save(self, ds: dict, pred) -> None:
        """With ``output_dir`` (``tools/test.py --out``), the predicted
        labels as ``<image name>.png`` (16-bit beyond 256 classes), as
        mmseg's IoUMetric saves semseg; read by
        ``tools/analysis_tools/confusion_matrix.py``."""
        if self.output_dir:
            dtype = np.uint8 if len(self.dataset_meta['classes']) <= 256 \
                else np.uint16
            save_prediction(self.output_dir, ds, pred.numpy().astype(dtype))

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for ds in data_samples:
            pred, label = self._labels(ds)
            self.save(ds, pred)
            self.results.append(
                self.intersect_and_union(pred, label, num_classes,
                                         self.ignore_index))


@METRICS.register_module()
class HumanPartsIoUMetric(TaskIoUMetric):
    """Human-parts mIoU as ASTMT / InvPT ``HumanPartsMeter``.

    Two defaults differ from :class:`TaskIoUMetric` to match the reference:

    - ``nan_to_num=0``: a class absent from both prediction and ground truth
      counts as IoU 0 (the reference divides by ``max(tp+fp+fn, 1e-8)``),
      where mmseg would skip it;
    - ``skip_images_without_parts=True``: an image whose ground truth holds
      no part (only background 0 and ``ignore_index``) is left out, as the
      reference's ``AddIgnoreRegions`` turns such maps into 255.

    Args:
        pred_key (str): Defaults to ``'pred_parts'``.
        gt_key (str): Defaults to ``'gt_parts'``.
        classes (Sequence[str], optional): Defaults to the 7 PASCAL-Context
            classes (background + 6 parts).
        skip_images_without_parts (bool): See above. Defaults to True.
        **kwargs: :class:`TaskIoUMetric` arguments; ``prefix`` defaults to
            ``'parts'``.

    Metrics: ``parts/mIoU`` (and the other ``iou_metrics``) in percent.
    """

    default_prefix = 'parts'

    def __init__(self,
                 pred_key: str = 'pred_parts',
                 gt_key: str = 'gt_parts',
                 classes: Optional[Sequence[str]] = PART_CLASSES,
                 skip_images_without_parts: bool = True,
                 **kwargs):
        kwargs.setdefault('nan_to_num', 0)
        super().__init__(pred_key=pred_key, gt_key=gt_key, classes=classes,
                         **kwargs)
        self.skip_images_without_parts = skip_images_without_parts

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        num_classes = len(self.dataset_meta['classes'])
        for ds in data_samples:
            pred, label = self._labels(ds)
            self.save(ds, pred)
            if self.skip_images_without_parts and not (
                    (label != 0) & (label != self.ignore_index)).any():
                # Counted as all-ignored: one (zero) entry per image keeps
                # mmengine's per-sample gathering across DDP ranks aligned.
                label = torch.full_like(label, self.ignore_index)
            self.results.append(
                self.intersect_and_union(pred, label, num_classes,
                                         self.ignore_index))
