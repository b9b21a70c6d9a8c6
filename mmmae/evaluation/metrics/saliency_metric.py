"""Saliency metric: ATRC/InvPT maxF and MTI-Net mIoU (the protocols are
described in :mod:`mmmae.evaluation.functional.saliency`)."""
from collections import OrderedDict
from typing import List, Optional, Sequence

import numpy as np
import torch

from mmmae.registry import METRICS
from ..functional.saliency import (MAXF_THRESHOLDS, MIOU_THRESHOLDS,
                                   max_f, max_mean_iou, saliency_counts)
from ._utils import DenseTaskMetric, save_prediction


@METRICS.register_module()
class SaliencyMetric(DenseTaskMetric):
    """maxF (dataset-level counts, beta^2 = 0.3) and mIoU (per-image IoU
    averaged, best threshold) of a saliency probability map.

    ``process`` keeps per-image true / predicted / actual positive counts at
    every threshold (DDP-safe).

    Args:
        pred_key (str): Field of the prediction, a probability in [0, 1]
            (sigmoid, or softmax[1] of a 2-channel head). Defaults to
            ``'pred_sal'``.
        gt_key (str): Field of the ground truth, labels in {0, 1} or
            ``ignore_index``. Defaults to ``'gt_sal'``.
        ignore_index (int): Defaults to 255.
        beta_squared (float): F-measure beta^2. Defaults to 0.3.
        maxf_thresholds (Sequence[float]): ``p >= t``. Defaults to ATRC's
            0.05, 0.10, ..., 0.95.
        miou_thresholds (Sequence[float]): ``p > t``. Defaults to MTI-Net's
            ``linspace(0.2, 0.9, 15)``.
        invpt_sigmoid (bool): Threshold ``sigmoid(p)`` for maxF as InvPT's
            and TaskPrompter's code does (to compare with their numbers).
            Defaults to False.
        output_dir (str, optional): Save ``uint8(255 * p)`` PNGs there.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'sal'``.

    Shapes:
        ``pred_key``, ``gt_key``: (1, H, W) or (H, W).

    Metrics: ``maxF`` and ``mIoU`` in percent.
    """

    default_prefix = 'sal'

    def __init__(self,
                 pred_key: str = 'pred_sal',
                 gt_key: str = 'gt_sal',
                 ignore_index: int = 255,
                 beta_squared: float = 0.3,
                 maxf_thresholds: Sequence[float] = MAXF_THRESHOLDS,
                 miou_thresholds: Sequence[float] = MIOU_THRESHOLDS,
                 invpt_sigmoid: bool = False,
                 output_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(pred_key, gt_key, ignore_index, output_dir,
                         collect_device, prefix)
        self.beta_squared = beta_squared
        self.maxf_thresholds = tuple(maxf_thresholds)
        self.miou_thresholds = tuple(miou_thresholds)
        self.invpt_sigmoid = invpt_sigmoid

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            prob, gt = self.read_binary(ds)
            f_prob = torch.sigmoid(prob.float()) if self.invpt_sigmoid \
                else prob
            self.results.append(
                dict(maxf=saliency_counts(f_prob, gt, self.maxf_thresholds,
                                          False, self.ignore_index),
                     miou=saliency_counts(prob, gt, self.miou_thresholds,
                                          True, self.ignore_index)))
            if self.output_dir:
                save_prediction(self.output_dir, ds,
                                (prob.float() * 255).byte().numpy())

    def compute_metrics(self, results: List[dict]) -> dict:

        def stack(part, key):
            return np.stack([r[part][key] for r in results])

        metrics = OrderedDict()
        metrics['maxF'] = 100.0 * max_f(
            *(stack('maxf', k) for k in ('tp', 'pp', 'ap')),
            beta_squared=self.beta_squared)
        metrics['mIoU'] = 100.0 * max_mean_iou(
            *(stack('miou', k) for k in ('tp', 'pp', 'ap')))
        return metrics
