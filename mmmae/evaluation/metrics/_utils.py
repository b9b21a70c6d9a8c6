"""Shared plumbing of the dense task metrics: a base class holding the
field names, reading a PixelData field by name from a data sample, and
saving a prediction for offline evaluation."""
import os.path as osp
from typing import Optional, Tuple

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.utils import mkdir_or_exist
from torch import Tensor

from mmmae.utils.atomic_io import atomic_imwrite


def sample_name(data_sample: dict) -> str:
    """What identifies a sample in an error message or a file name."""
    return str(data_sample.get('img_path', '<sample without img_path>'))


def get_pixel_data(data_sample: dict, key: str, metric: str) -> Tensor:
    """``data_sample[key].data`` (a dict after ``to_dict()`` or a PixelData),
    with an error naming the key, the sample and the fields present."""
    if key not in data_sample:
        fields = sorted(k for k in data_sample
                        if k.startswith(('gt_', 'pred_')))
        raise KeyError(f'{metric}: data sample {sample_name(data_sample)} '
                       f'has no {key!r} (its gt_/pred_ fields: {fields}); '
                       f'set pred_key/gt_key or check the head/pipeline '
                       f'that should fill it')
    value = data_sample[key]
    data = value.get('data') if isinstance(value, dict) else getattr(
        value, 'data', value)
    if not isinstance(data, Tensor):
        raise TypeError(f'{metric}: {key!r} of {sample_name(data_sample)} '
                        f'holds {type(data).__name__}, expected PixelData '
                        f'with a tensor .data')
    return data.detach().cpu()


def read_probability_and_labels(data_sample: dict, pred_key: str,
                                gt_key: str, ignore_index: int,
                                metric: str) -> Tuple[Tensor, Tensor]:
    """The (H, W) probability map and binary label map of a binary task
    (boundaries, saliency), checked: equal sizes, probabilities in [0, 1]
    and labels in {0, 1, ignore_index}."""
    prob = get_pixel_data(data_sample, pred_key, metric).squeeze(0)
    gt = get_pixel_data(data_sample, gt_key, metric).squeeze(0)
    name = sample_name(data_sample)
    if prob.shape != gt.shape or prob.dim() != 2:
        raise ValueError(f'{metric}: {pred_key!r} {tuple(prob.shape)} and '
                         f'{gt_key!r} {tuple(gt.shape)} of {name} must be '
                         f'equal (1, H, W)')
    if prob.numel() and (prob.min() < 0 or prob.max() > 1):
        raise ValueError(f'{metric}: {pred_key!r} of {name} is not a '
                         f'probability (values {prob.min():.3g}..'
                         f'{prob.max():.3g}); apply the sigmoid in the '
                         f"head's predict")
    labels = gt[gt != ignore_index]
    if ((labels != 0) & (labels != 1)).any():
        raise ValueError(f'{metric}: {gt_key!r} of {name} is not binary: '
                         f'values {torch.unique(labels)[:8].tolist()} '
                         f'besides {{0, 1, {ignore_index}}}')
    return prob.float(), gt


def save_prediction(output_dir: Optional[str], data_sample: dict,
                    image: np.ndarray) -> None:
    """Write ``image`` (uint8) as ``<output_dir>/<image basename>.png``, the
    files the literature's offline evaluations read (SEISM for boundaries)."""
    if not output_dir:
        return
    stem = osp.splitext(osp.basename(sample_name(data_sample)))[0]
    atomic_imwrite(osp.join(output_dir, f'{stem}.png'), image)


class DenseTaskMetric(BaseMetric):
    """A metric of one dense task, read from ``pred_key`` / ``gt_key``.

    Args:
        pred_key (str): Data-sample field of the prediction.
        gt_key (str): Data-sample field of the ground truth.
        ignore_index: Ground-truth value of ignored pixels.
        output_dir (str, optional): Where predictions are saved as PNGs
            (``tools/test.py --out`` sets it).
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Metric name prefix.
    """

    def __init__(self, pred_key: str, gt_key: str, ignore_index,
                 output_dir: Optional[str], collect_device: str,
                 prefix: Optional[str]):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.pred_key = pred_key
        self.gt_key = gt_key
        self.ignore_index = ignore_index
        self.output_dir = output_dir
        if output_dir and is_main_process():
            mkdir_or_exist(output_dir)

    def read_binary(self, data_sample: dict) -> Tuple[Tensor, Tensor]:
        """(H, W) probability and label maps, checked (see
        :func:`read_probability_and_labels`)."""
        return read_probability_and_labels(data_sample, self.pred_key,
                                           self.gt_key, self.ignore_index,
                                           type(self).__name__)
