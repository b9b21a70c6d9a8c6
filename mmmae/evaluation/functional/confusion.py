"""Pixel confusion matrices of label maps (semantic segmentation, parts).

The counting idea is mmseg's ``tools/analysis_tools/confusion_matrix.py``
(``bincount`` of ``num_classes * gt + pred`` over the pixels whose ground
truth is not ignored; rows are ground truth, columns prediction), with two
differences: a label that is neither a class nor the ignore index is an
error naming the sample and the value (mmseg would count it in a wrong
cell or crash in ``reshape``), and a row without ground-truth pixels is
NaN after normalisation (mmseg divides by zero silently).
"""
from typing import Optional

import numpy as np

__all__ = ['confusion_counts', 'normalize_confusion']


def _as_int_array(x) -> np.ndarray:
    if hasattr(x, 'detach'):  # a torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        if x.size and not np.all(np.equal(np.mod(x, 1), 0)):
            raise TypeError(f'label maps must hold integers, got {x.dtype} '
                            'with fractional values')
    return x.astype(np.int64)


def _check_range(values: np.ndarray, num_classes: int, what: str,
                 name: str, ignore_index: Optional[int]) -> None:
    bad = (values < 0) | (values >= num_classes)
    if bad.any():
        value = int(values[bad][np.argmax(np.abs(values[bad]))])
        ignore = '' if ignore_index is None else \
            f' and is not the ignore index {ignore_index}'
        raise ValueError(f'{name}: {what} label {value} is outside the '
                         f'{num_classes} classes (0..{num_classes - 1})'
                         f'{ignore}')


def confusion_counts(gt,
                     pred,
                     num_classes: int,
                     ignore_index: Optional[int] = 255,
                     name: str = 'sample') -> np.ndarray:
    """Count pixels per (ground-truth class, predicted class).

    Pixels whose ground truth is ``ignore_index`` are left out, whatever
    their prediction. Every other ground-truth and predicted value must be
    a class in ``[0, num_classes)``.

    Args:
        gt (array-like): Ground-truth label map (ndarray or Tensor, any
            shape, integers).
        pred (array-like): Predicted label map, the same shape as ``gt``.
        num_classes (int): Number of classes K.
        ignore_index (int, optional): Ground-truth value left out; None
            counts every pixel. Defaults to 255.
        name (str): What the maps are (a file, a sample), for errors.

    Returns:
        ndarray: (K, K) int64 counts; ``counts[i, j]`` is the number of
        pixels of class i predicted as class j. Row sums are the
        ground-truth areas, column sums the predicted areas (over the
        non-ignored pixels), the diagonal the intersections.

    Shapes:
        gt, pred: (...) equal  ->  counts: (K, K)

    Raises:
        ValueError: ``gt`` and ``pred`` differ in shape, or a ground-truth
            value other than ``ignore_index``, or a prediction on a counted
            pixel, lies outside ``[0, K)``; the message names ``name`` and
            the value.
    """
    if num_classes < 1:
        raise ValueError(f'num_classes must be >= 1, got {num_classes}')
    gt, pred = _as_int_array(gt), _as_int_array(pred)
    if gt.shape != pred.shape:
        raise ValueError(f'{name}: ground truth {tuple(gt.shape)} and '
                         f'prediction {tuple(pred.shape)} differ in shape')
    gt, pred = gt.reshape(-1), pred.reshape(-1)
    if ignore_index is not None:
        keep = gt != ignore_index
        gt, pred = gt[keep], pred[keep]
    _check_range(gt, num_classes, 'ground-truth', name, ignore_index)
    _check_range(pred, num_classes, 'predicted', name, None)
    counts = np.bincount(num_classes * gt + pred,
                         minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


def normalize_confusion(counts: np.ndarray) -> np.ndarray:
    """Each row as percent of its ground-truth pixels.

    Args:
        counts (ndarray): (K, K) counts of :func:`confusion_counts`.

    Returns:
        ndarray: (K, K) float64; row i sums to 100, or is all NaN when the
        ground truth has no pixel of class i.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f'counts must be a square (K, K) matrix, got shape '
                         f'{counts.shape}')
    rows = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(rows > 0, 100. * counts / rows, np.nan)
