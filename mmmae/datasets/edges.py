"""Boundary maps from label maps, as the multi-task literature derives them.

The PASCAL-Context boundaries of Maninis et al. (ASTMT; the loaders of
Multi-Task-Learning-PyTorch and InvPT, ``data/pascal_context.py``) are the
pixels where the 3x3 Laplacian of the label map is non-zero, thinned to one
pixel: ``thin(|cv2.Laplacian(labels, CV_64F)| > 0)`` with
``skimage.morphology.thin``. :func:`label_boundaries` computes the same map;
:func:`thin` is a re-implementation of the two-subiteration thinning of Guo
and Hall (CACM 1989) that scikit-image uses, so scikit-image is not needed.
"""
import cv2
import numpy as np
from scipy import ndimage

# Neighbour bits: 1 E, 2 NE, 4 N, 8 NW, 16 W, 32 SW, 64 S, 128 SE.
_BITS = np.array([[8, 4, 2], [16, 0, 1], [32, 64, 128]], np.uint8)


def _neighbours(code: int) -> list:
    """x1..x8 of Guo and Hall (E, NE, N, NW, W, SW, S, SE) as booleans."""
    return [bool(code >> i & 1) for i in range(8)]


def _luts():
    g1, g2, g3, g3p = (np.zeros(256, bool) for _ in range(4))
    for code in range(256):
        x = _neighbours(code)
        # G1: exactly one 8-connected run of neighbours (crossing number 1).
        g1[code] = sum(not x[i] and (x[i + 1] or x[(i + 2) % 8])
                       for i in (0, 2, 4, 6)) == 1
        # G2: 2 <= min(n1, n2) <= 3 keeps end points and thin parts.
        n1 = sum(x[k - 1] or x[k] for k in (1, 3, 5, 7))
        n2 = sum(x[k] or x[(k + 1) % 8] for k in (1, 3, 5, 7))
        g2[code] = min(n1, n2) in (2, 3)
        # G3 / G3': the first subiteration removes south-east boundary
        # points and north-west corners, the second the opposite ones.
        g3[code] = not ((x[1] or x[2] or not x[7]) and x[0])
        g3p[code] = not ((x[5] or x[6] or not x[3]) and x[4])
    return g1 & g2 & g3, g1 & g2 & g3p


_LUT_FIRST, _LUT_SECOND = _luts()


def thin(mask: np.ndarray) -> np.ndarray:
    """Thin a binary mask to one-pixel-wide lines (Guo and Hall 1989).

    Alternates the two subiterations until no pixel changes; pixels outside
    the image count as background.

    Shapes:
        mask (H, W) bool-like -> (H, W) bool
    """
    skel = np.asarray(mask, bool).astype(np.uint8)
    count = -1
    while count != int(skel.sum()):
        count = int(skel.sum())
        for lut in (_LUT_FIRST, _LUT_SECOND):
            codes = ndimage.correlate(skel, _BITS, mode='constant')
            skel[lut[codes]] = 0
    return skel.astype(bool)


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
