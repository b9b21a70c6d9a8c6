"""Saliency scores of the dense multi-task literature.

Two protocols are in use, and both are computed from per-image counts of
true positives (tp), predicted positives (pp) and actual positives (ap) at
a set of thresholds, over the pixels whose label is not ignored:

- **maxF** (ATRC ``src/data/metrics.py: MaxF``; InvPT and TaskPrompter
  ``evaluation/eval_sal.py``): thresholds ``torch.arange(0.05, 1, 0.05)``,
  a pixel is salient when ``p >= t``; tp, pp and ap are summed over the
  dataset, F_beta = (1 + b2) P R / (b2 P + R) with b2 = 0.3, NaN -> 0,
  maxF = the largest over thresholds.
- **mIoU** (ASTMT / MTI-Net ``evaluation/eval_sal.py``, the saliency mIoU of
  later papers): thresholds ``np.linspace(0.2, 0.9, 15)``, salient when
  ``p > t``; per image IoU = tp / (pp + ap - tp) (1 when both are empty),
  averaged over images, and the largest average over thresholds.

InvPT's and TaskPrompter's ``SaliencyMeter`` apply a sigmoid to maps that
are already probabilities before thresholding, so their maxF thresholds
sigmoid(p) rather than p; ``invpt_sigmoid=True`` reproduces that.
"""
from typing import Dict, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = [
    'MAXF_THRESHOLDS', 'MIOU_THRESHOLDS', 'saliency_counts', 'max_f',
    'max_mean_iou'
]

# float32 as ATRC's torch.arange, so that p >= t compares the same numbers.
MAXF_THRESHOLDS = tuple(torch.arange(0.05, 1, 0.05).tolist())
MIOU_THRESHOLDS = tuple(np.linspace(0.2, 0.9, 15).tolist())


def saliency_counts(prob: Tensor,
                    gt: Tensor,
                    thresholds: Sequence[float],
                    strict: bool,
                    ignore_index: int = 255) -> Dict[str, np.ndarray]:
    """tp, pp and ap of one image at every threshold.

    Args:
        prob (Tensor): (H, W) saliency probability.
        gt (Tensor): (H, W) labels in {0, 1} or ``ignore_index``.
        thresholds (Sequence[float]): Decision thresholds.
        strict (bool): ``prob > t`` if True, else ``prob >= t``.
        ignore_index (int): Defaults to 255.

    Returns:
        dict: ``tp, pp, ap``, int64 arrays of ``len(thresholds)``.
    """
    if prob.shape != gt.shape:
        raise ValueError(f'saliency_counts: prediction {tuple(prob.shape)} '
                         f'and ground truth {tuple(gt.shape)} differ')
    valid = gt != ignore_index
    # float32 on both sides, as the references' torch comparisons.
    p = prob[valid].float()
    g = gt[valid].bool()
    t = torch.tensor(thresholds, dtype=torch.float32)
    pos = (p[None, :] > t[:, None]) if strict else (p[None, :] >= t[:, None])
    tp = (pos & g[None, :]).sum(1)
    pp = pos.sum(1)
    ap = torch.full_like(tp, int(g.sum()))
    return dict(tp=tp.numpy().astype(np.int64),
                pp=pp.numpy().astype(np.int64),
                ap=ap.numpy().astype(np.int64))


def max_f(tp: np.ndarray, pp: np.ndarray, ap: np.ndarray,
          beta_squared: float = 0.3) -> float:
    """ATRC/InvPT maxF from (N_images, K) counts summed over the dataset."""
    tp, pp, ap = (np.asarray(a, dtype=np.float64).reshape(-1, np.shape(a)[-1])
                  .sum(0) for a in (tp, pp, ap))
    with np.errstate(divide='ignore', invalid='ignore'):
        prec = tp / pp
        rec = tp / ap
        f = (1 + beta_squared) * prec * rec / (beta_squared * prec + rec)
    f[np.isnan(f)] = 0  # as the reference: NaN -> 0 (inf cannot occur)
    return float(f.max())


def max_mean_iou(tp: np.ndarray, pp: np.ndarray, ap: np.ndarray) -> float:
    """MTI-Net saliency mIoU from (N_images, K) per-image counts."""
    tp, pp, ap = (np.asarray(a, dtype=np.float64) for a in (tp, pp, ap))
    union = pp + ap - tp
    iou = np.where(union > 0, tp / np.where(union > 0, union, 1), 1.0)
    return float(iou.mean(0).max())
