"""Boundary maps from label maps, as the multi-task literature derives them.

The PASCAL-Context boundaries of Maninis et al. (ASTMT; the loaders of
Multi-Task-Learning-PyTorch and InvPT, ``data/pascal_context.py``) are the
pixels where the 3x3 Laplacian of the label map is non-zero, thinned to one
pixel: ``thin(|cv2.Laplacian(labels, CV_64F)| > 0)`` with
``skimage.morphology.thin``. :func:`label_boundaries` computes the same
map. :func:`thin` is the boundary benchmark's two-subiteration thinning of
Guo and Hall (CACM 1989), the one scikit-image and MATLAB's
``bwmorph(., 'thin')`` use, so scikit-image is not needed and datasets and
metrics thin alike.
"""
import cv2
import numpy as np

from mmmae.evaluation.functional.boundary import thin

__all__ = ['thin', 'label_boundaries']


def label_boundaries(labels: np.ndarray) -> np.ndarray:
    """Boundaries of a label map: ``thin(|Laplacian(labels)| > 0)``.

    Args:
        labels (np.ndarray): (H, W) integer label map (PASCAL-Context's
            459-class ``LabelMap``, NYUv2's 894-class labels).

    Returns:
        np.ndarray: (H, W) uint8 in {0, 1}.
    """
    lap = cv2.Laplacian(np.asarray(labels, np.float64), cv2.CV_64F)
    return thin(np.abs(lap) > 0).astype(np.uint8)
