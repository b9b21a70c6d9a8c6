"""Packing a pipeline's results into model inputs and an mmseg data sample."""
from typing import Sequence

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.registry import TRANSFORMS
from ..tasks import TASK_FIELDS
from ._fields import modality_kind_of

_NUMPY_DTYPES = {torch.uint8: np.dtype(np.uint8),
                 torch.int64: np.dtype(np.int64),
                 torch.float32: np.dtype(np.float32)}
_CV2_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16),
               np.dtype(np.float32))


def _split_into(hwc: np.ndarray, planes: np.ndarray) -> bool:
    """Deinterleave (H, W, C) into the (C, H, W) ``planes`` with OpenCV's
    split, ~5x faster than numpy's transposing copy; False (nothing
    written) where OpenCV cannot take the view."""
    if not 1 < hwc.shape[2] <= 4 or hwc.strides[2] != hwc.itemsize or \
            hwc.strides[1] != hwc.itemsize * hwc.shape[2] or \
            hwc.strides[0] < 0:
        return False
    dst = list(planes)
    got = cv2.split(hwc, dst)
    # OpenCV writes into dst only if it matches; a fresh array means not.
    return all(g.ctypes.data == d.ctypes.data for g, d in zip(got, dst))


@TRANSFORMS.register_module()
class PackMultiModalInputs(BaseTransform):
    """Pack the input modalities and the targets of one sample.

    ``inputs`` holds one tensor per name in ``results['modalities']``; the
    data sample carries the ground truth of every task in
    ``results['targets']`` under its field (``mmmae.datasets.tasks``:
    ``gt_sem_seg``, ``gt_depth_map``, ``gt_normals``, ``gt_edge``,
    ``gt_sal``, ``gt_parts``), so one validation pass feeds every task's
    metric, and lists them in ``metainfo['tasks']``. A task whose ground
    truth was not loaded is an error naming the task and the sample.

    Args:
        meta_keys (Sequence[str]): Keys copied into the data sample's
            metainfo when present. ``pad_shape`` defaults to ``img_shape``
            and ``flip`` to False.

    Shapes:
        rgb (H, W, 3) uint8 -> inputs['rgb'] (3, H, W) uint8
        depth (H, W) float32 -> inputs['depth'] (1, H, W) float32 metres
        semseg (H, W) uint8 -> inputs['semseg'] (1, H, W) int64
        gt_seg_map (H', W') -> gt_sem_seg.data (1, H', W') int64
        gt_depth_map (H', W') -> gt_depth_map.data (1, H', W') float32
        gt_normals (H', W', 3) -> gt_normals.data (3, H', W') float32
        gt_edge / gt_sal / gt_parts (H', W') -> .data (1, H', W') int64
    """

    def __init__(self,
                 meta_keys: Sequence[str] = (
                     'img_path', 'ori_shape', 'img_shape', 'pad_shape',
                     'scale_factor', 'flip', 'flip_direction', 'modalities')):
        self.meta_keys = tuple(meta_keys)

    @staticmethod
    def _tensor(arr: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        """(H, W) -> (1, H, W), (H, W, C) -> (C, H, W), contiguous.

        The values are those of ``torch.from_numpy(np.ascontiguousarray(
        chw)).to(dtype)`` (a contiguous map already of ``dtype`` is shared,
        as there), written in one pass from the cropped, strided view
        instead of a contiguous copy followed by a dtype copy.
        """
        chw = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
        target = _NUMPY_DTYPES.get(dtype)
        if chw.dtype == target and chw.flags.c_contiguous:
            return torch.from_numpy(chw)
        if target is None or not np.can_cast(chw.dtype, target, 'safe'):
            # A possibly lossy conversion: torch's own cast, as always.
            return torch.from_numpy(np.ascontiguousarray(chw)).to(dtype)
        out = torch.empty(chw.shape, dtype=dtype)
        planes = out.numpy()
        if not (arr.ndim == 3 and arr.dtype == target and
                arr.dtype in _CV2_DTYPES and _split_into(arr, planes)):
            planes[...] = chw  # numpy casts exactly (a safe cast)
        return out

    def transform(self, results: dict) -> dict:
        # Any task map may also be an input (e.g. normals for MultiMAE); the
        # dtype is the modality kind's (rgb uint8, depth float32, ...).
        inputs, kinds = {}, {}
        for name in results['modalities']:
            if name not in results:
                raise KeyError(f'modality "{name}" of '
                               f'{results.get("img_path")} was not loaded; '
                               'put LoadMultiModalFromFile first')
            kind = modality_kind_of(results, name)
            kinds[name] = kind.name
            inputs[name] = self._tensor(results[name],
                                        getattr(torch, kind.dtype))
        sample = SegDataSample()
        # Without a target list (hand-built results), what is present.
        tasks = tuple(results['targets']) if 'targets' in results else \
            tuple(t for t, f in TASK_FIELDS.items() if f.key in results)
        for task in tasks:
            if task not in TASK_FIELDS:
                raise KeyError(f'unknown task "{task}" in the targets of '
                               f'{results.get("img_path")}; tasks are '
                               f'{sorted(TASK_FIELDS)}')
            if TASK_FIELDS[task].key not in results:
                raise KeyError(
                    f'the ground truth of task "{task}" '
                    f'({TASK_FIELDS[task].key}) of {results.get("img_path")}'
                    ' was not loaded; put LoadMultiModalFromFile (with '
                    'load_targets) before PackMultiModalInputs')
        for task, (key, field, kind) in TASK_FIELDS.items():
            if key in results:
                dtype = torch.float32 if kind in ('depth', 'normals') \
                    else torch.int64
                sample.set_field(
                    PixelData(data=self._tensor(results[key], dtype)), field)
        meta = {k: results[k] for k in self.meta_keys if k in results}
        meta['modalities'] = tuple(results['modalities'])
        meta['modality_kinds'] = kinds  # read by MultiMAEDataPreprocessor
        meta['tasks'] = tasks
        meta.setdefault('flip', False)
        meta.setdefault('flip_direction', None)
        if 'img_shape' in meta:
            meta.setdefault('pad_shape', meta['img_shape'])
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self):
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
