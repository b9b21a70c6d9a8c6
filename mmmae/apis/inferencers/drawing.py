"""Pictures for the Inferencers: one titled panel per input or task.

Depth is colour-mapped and labels coloured with the visualizer's palette
(:mod:`mmmae.visualization`); normals map x, y, z in [-1, 1] to RGB, and
boundary / saliency maps are drawn grey (white = 1).
"""
from typing import Optional, Sequence

import cv2
import numpy as np

from mmmae.visualization import colorize_depth
from mmmae.visualization.local_visualizer import _palette

TITLE_HEIGHT = 14
GAP = 2


def titled(panel: np.ndarray, title: str) -> np.ndarray:
    """(H, W, 3) -> (TITLE_HEIGHT + H, W, 3): a white strip with the title
    above the panel."""
    strip = np.full((TITLE_HEIGHT, panel.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, title, (2, TITLE_HEIGHT - 4),
                cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([strip, panel], axis=0)


def side_by_side(panels: Sequence[np.ndarray], gap: int = GAP) -> np.ndarray:
    """Panels of one height, left to right, ``gap`` white pixels apart."""
    h = panels[0].shape[0]
    spacer = np.full((h, gap, 3), 255, np.uint8)
    out = [panels[0]]
    for p in panels[1:]:
        out += [spacer, p]
    return np.concatenate(out, axis=1)


def colour_labels(labels: np.ndarray,
                  palette: Optional[Sequence] = None) -> np.ndarray:
    """(H, W) class ids -> (H, W, 3) RGB; ids outside the palette black."""
    labels = np.asarray(labels).astype(np.int64)
    palette = np.asarray(palette if palette is not None else
                         _palette(int(labels.max(initial=0)) + 1), np.uint8)
    out = np.zeros(labels.shape + (3, ), np.uint8)
    valid = (labels >= 0) & (labels < len(palette))
    out[valid] = palette[labels[valid]]
    return out


def task_panel(kind: str, pred: np.ndarray,
               palette: Optional[Sequence] = None) -> np.ndarray:
    """One task's prediction as a (H, W, 3) RGB picture.

    Args:
        kind (str): The task kind (``mmmae.models.heads.task_kind``).
        pred (np.ndarray): depth (H, W) metres; labels (H, W); normals
            (H, W, 3) unit vectors; boundary / saliency (H, W) in [0, 1].
        palette (Sequence, optional): Label colours.
    """
    if kind == 'depth':
        return colorize_depth(pred)
    if kind in ('segmentation', 'parts'):
        return colour_labels(pred, palette)
    if kind == 'normals':
        return ((np.clip(pred, -1, 1) + 1) * 127.5).round().astype(np.uint8)
    grey = (np.clip(pred, 0, 1) * 255).round().astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)


def fit(panel: np.ndarray, size) -> np.ndarray:
    """``panel`` at (H, W) ``size`` (nearest, so labels stay labels)."""
    if panel.shape[:2] == tuple(size):
        return panel
    return cv2.resize(panel, (size[1], size[0]),
                      interpolation=cv2.INTER_NEAREST)
