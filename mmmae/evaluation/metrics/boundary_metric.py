"""Boundary metric: optimal-dataset-scale F-measure (odsF) and oisF of the
BSDS/SEISM protocol, in Python (the protocol is described in
:mod:`mmmae.evaluation.functional.boundary`)."""
from collections import OrderedDict
from typing import List, Optional, Sequence

import numpy as np
import torch

from mmmae.registry import METRICS
from ..functional.boundary import (SEISM_THRESHOLDS, boundary_counts,
                                   check_match_method, ods_ois)
from ._utils import DenseTaskMetric, save_prediction


@METRICS.register_module()
class BoundaryMetric(DenseTaskMetric):
    """odsF / oisF with the SEISM tolerance matching.

    Per image and threshold t the prediction ``p >= t`` and the ground truth
    are thinned to one-pixel lines, then matched one-to-one within
    ``max_dist`` times the image diagonal; the counts are summed over the
    dataset and odsF is the best F over thresholds. ``process`` computes the
    per-image counts (the expensive part, so it runs on every DDP rank);
    ``compute_metrics`` only sums them.

    Cost: about 8 s per 448x576 image with the 99 default thresholds and
    1.5 s with 19 (one busy CPU core); pass fewer ``thresholds`` (e.g.
    ``[i / 20 for i in range(1, 20)]``) for frequent validation and keep the
    default for reported numbers.

    Args:
        max_dist (float): Tolerance as a fraction of the image diagonal:
            0.0075 for PASCAL-Context (SEISM's default), 0.011 for NYUD.
            Defaults to 0.0075.
        pred_key (str): Field of the prediction, a boundary probability in
            [0, 1] (after the sigmoid). Defaults to ``'pred_edge'``.
        gt_key (str): Field of the ground-truth boundary map, {0, 1} or
            ``ignore_index``. Defaults to ``'gt_edge'``.
        thresholds (Sequence[float]): Defaults to 0.01, 0.02, ..., 0.99
            (the literature's SEISM parameters).
        quantize (bool): Score ``floor(255 * p) / 255`` as the literature
            does (it saves ``uint8(255 * sigmoid)`` PNGs for SEISM).
            Defaults to True.
        thin_gt (bool): Thin the ground truth as SEISM does. Defaults to
            True.
        ignore_index (int): Ground-truth value outside the evaluated area
            (e.g. padding): such pixels are removed from both maps.
            Defaults to 255.
        method (str): ``'max_cardinality'`` (default) or ``'min_cost'``;
            see :func:`~mmmae.evaluation.functional.match_boundaries`.
        output_dir (str, optional): Save ``uint8(255 * p)`` PNGs there, the
            files SEISM reads.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'edge'``.

    Shapes:
        ``pred_key``, ``gt_key``: (1, H, W) or (H, W).

    Metrics: ``odsF``, ``oisF``, ``ods_precision``, ``ods_recall`` (percent)
    and ``ods_threshold``.
    """

    default_prefix = 'edge'

    def __init__(self,
                 max_dist: float = 0.0075,
                 pred_key: str = 'pred_edge',
                 gt_key: str = 'gt_edge',
                 thresholds: Sequence[float] = SEISM_THRESHOLDS,
                 quantize: bool = True,
                 thin_gt: bool = True,
                 ignore_index: int = 255,
                 method: str = 'max_cardinality',
                 output_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(pred_key, gt_key, ignore_index, output_dir,
                         collect_device, prefix)
        if not 0 < max_dist < 1:
            raise ValueError(f'BoundaryMetric: max_dist is a fraction of the '
                             f'image diagonal (0.0075 PASCAL, 0.011 NYUD), '
                             f'got {max_dist}')
        check_match_method(method, 'BoundaryMetric')
        self.max_dist = max_dist
        self.thresholds = tuple(float(t) for t in thresholds)
        self.quantize = quantize
        self.thin_gt = thin_gt
        self.method = method

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            prob, gt = self.read_binary(ds)
            png = (prob * 255).floor().clamp(0, 255)  # uint8(255 * p)
            # double(png) / 255 as MATLAB reads it: ties with the
            # thresholds (51 / 255 = 0.20) resolve as in the reference.
            score = png.double() / 255 if self.quantize else prob.double()
            ignore = (gt == self.ignore_index).numpy()
            counts = boundary_counts(
                score.numpy(), (gt == 1).numpy(), self.max_dist,
                self.thresholds, ignore=ignore if ignore.any() else None,
                thin_gt=self.thin_gt, method=self.method)
            self.results.append(counts)
            if self.output_dir:
                save_prediction(self.output_dir, ds,
                                png.to(torch.uint8).numpy())

    def compute_metrics(self, results: List[dict]) -> dict:
        counts = {k: np.stack([r[k] for r in results])
                  for k in ('cntR', 'sumR', 'cntP', 'sumP')}
        scores = ods_ois(counts, self.thresholds)
        metrics = OrderedDict()
        for key in ('odsF', 'oisF', 'ods_precision', 'ods_recall'):
            metrics[key] = 100.0 * scores[key]
        metrics['ods_threshold'] = scores['ods_threshold']
        return metrics
