"""Pictures for the Inferencers: one titled panel per input or task.

Thin wrappers over :mod:`mmmae.visualization.annotate`: depth with a colour
bar in metres, label maps with a legend of the classes present, normals as
RGB = (xyz + 1) / 2, boundary / saliency grey (white = 1); small maps are
enlarged so that the titles read.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from mmmae.visualization import annotate as A
from mmmae.visualization import depth_range

LABEL_KINDS = ('segmentation', 'parts')


def task_panel(kind: str, pred: np.ndarray, title: str,
               palette: Optional[Sequence] = None,
               class_names: Optional[Sequence[str]] = None,
               vrange: Optional[Tuple[float, float]] = None,
               scale_note: str = 'prediction 2-98 %') -> np.ndarray:
    """One task's prediction as a titled (H', W', 3) RGB panel.

    Args:
        kind (str): The task kind (``mmmae.models.heads.task_kind``).
        pred (np.ndarray): depth (H, W) metres; labels (H, W); normals
            (H, W, 3) unit vectors; boundary / saliency (H, W) in [0, 1].
        title (str): The panel's title.
        palette, class_names: Label colours and names (legend).
        vrange (tuple, optional): Depth colour range in metres; default the
            prediction's 2-98 % percentiles.
        scale_note (str): Where ``vrange`` comes from (bar caption).
    """
    if kind == 'depth':
        lo, hi = vrange if vrange is not None else depth_range(pred)
        return A.depth_panel(pred, lo, hi, np.zeros(pred.shape, bool), title,
                             caption=[f'scale {lo:.2f}-{hi:.2f} m '
                                      f'({scale_note})'])
    if kind in LABEL_KINDS:
        return A.label_panel(pred, palette, class_names, 255, title)
    if kind == 'normals':
        return A.normals_panel(pred, title)
    return A.grey_panel(pred, title)


def fit(panel: np.ndarray, size) -> np.ndarray:
    """``panel`` at (H, W) ``size`` (nearest, so labels stay labels)."""
    if panel.shape[:2] == tuple(size):
        return panel
    return cv2.resize(panel, (size[1], size[0]),
                      interpolation=cv2.INTER_NEAREST)
