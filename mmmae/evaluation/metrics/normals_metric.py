"""Surface-normal metric: mean / median / RMSE angular error and the share
of pixels within 11.25, 22.5 and 30 degrees (the protocol is described in
:mod:`mmmae.evaluation.functional.normals`)."""
from collections import OrderedDict
from typing import List, Optional, Sequence

import numpy as np

from mmmae.models.losses.normals_loss import normals_valid_mask
from mmmae.registry import METRICS
from ..functional.normals import normals_angular_error
from ._utils import (DenseTaskMetric, get_pixel_data, sample_name,
                     save_prediction)

WITHIN = (11.25, 22.5, 30.0)


@METRICS.register_module()
class NormalsMetric(DenseTaskMetric):
    """Angular error of predicted surface normals over the valid pixels of
    the whole dataset.

    ``process`` keeps per-image sufficient statistics (count, sum, sum of
    squares, counts within each threshold, and a sparse histogram of the
    angles in ``median_bin_deg`` bins for the median), so it is DDP-safe and
    small. Every figure but the median is exact; the median is interpolated
    inside its histogram bin, within ``median_bin_deg`` of ``np.median``.

    Args:
        pred_key (str): Data-sample field of the prediction.
            Defaults to ``'pred_normals'``.
        gt_key (str): Field of the ground truth. Defaults to
            ``'gt_normals'``.
        ignore_index (float): Ground-truth value marking an ignored pixel.
            Defaults to 255.
        norm_tol (float, optional): Valid ground-truth vectors must have a
            length within ``1 +- norm_tol`` (8-bit files are within 0.01);
            anything else (e.g. maps still in 0..255) raises. ``None``
            skips the check. Defaults to 0.1.
        median_bin_deg (float): Histogram bin of the median, in degrees.
            Defaults to 0.01.
        output_dir (str, optional): Save ``(n + 1) * 255 / 2`` predictions
            as PNGs there (RGB = xyz, the literature's files).
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'normals'``.

    Shapes:
        ``pred_key``: (3, H, W) any length; ``gt_key``: (3, H, W) unit
        vectors, 255 or zero = invalid.

    Metrics: ``mean``, ``median``, ``rmse`` (degrees) and ``11.25``,
    ``22.5``, ``30`` (percent of valid pixels with a smaller error).
    """

    default_prefix = 'normals'

    def __init__(self,
                 pred_key: str = 'pred_normals',
                 gt_key: str = 'gt_normals',
                 ignore_index: float = 255,
                 norm_tol: Optional[float] = 0.1,
                 median_bin_deg: float = 0.01,
                 output_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(pred_key, gt_key, ignore_index, output_dir,
                         collect_device, prefix)
        self.norm_tol = norm_tol
        self.median_bin_deg = median_bin_deg

    def _check_gt(self, gt, data_sample) -> None:
        if self.norm_tol is None:
            return
        valid = normals_valid_mask(gt[None], self.ignore_index)[0, 0]
        norms = gt[:, valid].double().norm(dim=0)
        if norms.numel() and (norms - 1).abs().max() > self.norm_tol:
            raise ValueError(
                f'{type(self).__name__}: {self.gt_key!r} of '
                f'{sample_name(data_sample)} is not unit length on valid '
                f'pixels (lengths {norms.min():.3f}..{norms.max():.3f}, '
                f'tolerance {self.norm_tol}); decode normals to [-1, 1] '
                f'(2 * v / 255 - 1) in the pipeline')

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        n_bins = int(np.ceil(180 / self.median_bin_deg)) + 1
        for ds in data_samples:
            name = type(self).__name__
            pred = get_pixel_data(ds, self.pred_key, name)
            gt = get_pixel_data(ds, self.gt_key, name)
            if pred.shape != gt.shape or pred.dim() != 3 or \
                    pred.shape[0] != 3:
                raise ValueError(
                    f'{name}: {self.pred_key!r} {tuple(pred.shape)} and '
                    f'{self.gt_key!r} {tuple(gt.shape)} of '
                    f'{sample_name(ds)} must both be (3, H, W)')
            self._check_gt(gt, ds)
            angle = normals_angular_error(pred, gt,
                                          self.ignore_index).numpy()
            bins = np.minimum((angle / self.median_bin_deg).astype(np.int64),
                              n_bins - 1)
            idx, counts = np.unique(bins, return_counts=True)
            self.results.append(
                dict(n=angle.size, sum=float(angle.sum()),
                     sum_sq=float((angle**2).sum()),
                     within=np.array([(angle < t).sum() for t in WITHIN]),
                     hist_idx=idx.astype(np.int32),
                     hist_count=counts.astype(np.int32)))
            if self.output_dir:
                unit = pred / pred.norm(dim=0, keepdim=True).clamp(min=1e-12)
                img = ((unit + 1) * 255 / 2).clamp(0, 255).byte()
                # CHW RGB -> HWC BGR for OpenCV
                save_prediction(self.output_dir, ds,
                                img.permute(1, 2, 0).numpy()[..., ::-1])

    def compute_metrics(self, results: List[dict]) -> dict:
        n = sum(r['n'] for r in results)
        if n == 0:
            raise ValueError(f'{type(self).__name__}: no valid '
                             f'{self.gt_key!r} pixel in the whole dataset')
        n_bins = int(np.ceil(180 / self.median_bin_deg)) + 1
        hist = np.zeros(n_bins, dtype=np.int64)
        for r in results:
            np.add.at(hist, r['hist_idx'], r['hist_count'])
        within = sum(r['within'] for r in results)
        metrics = OrderedDict()
        metrics['mean'] = sum(r['sum'] for r in results) / n
        metrics['median'] = _histogram_median(hist, n, self.median_bin_deg)
        metrics['rmse'] = float(np.sqrt(sum(r['sum_sq'] for r in results) /
                                        n))
        for t, count in zip(WITHIN, within):
            metrics[f'{t:g}'] = 100.0 * float(count) / n
        return metrics


def _histogram_median(hist: np.ndarray, n: int, width: float) -> float:
    """np.median semantics (mean of the two middle ranks when n is even),
    each rank placed linearly inside its bin."""
    cum = np.cumsum(hist)

    def value_at(rank: int) -> float:
        b = int(np.searchsorted(cum, rank, side='right'))
        before = cum[b - 1] if b else 0
        return (b + (rank - before + 0.5) / hist[b]) * width

    return 0.5 * (value_at((n - 1) // 2) + value_at(n // 2))
