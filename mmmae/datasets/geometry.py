"""Surface normals from a depth map and a pinhole camera, and their storage.

Normals are in the camera frame of OpenCV (x right, y down, z forward) and
face the camera (``n . P < 0`` for the 3D point ``P``); the 0 vector marks an
invalid pixel. On disk they are a 16-bit RGB PNG ``round((n + 1) / 2 *
65535)`` (x, y, z in R, G, B); 8-bit PNGs of the literature use 255 instead.
"""
from typing import NamedTuple

import numpy as np


class Intrinsics(NamedTuple):
    """Pinhole intrinsics in pixels, 0-based pixel centres."""
    fx: float
    fy: float
    cx: float
    cy: float


# The NYUv2 toolbox's colour camera (camera_params.m: fx_rgb, fy_rgb,
# cx_rgb, cy_rgb); its cx, cy are MATLAB 1-based, hence the -1. The labelled
# frames are the 640x480 colour images with depth projected onto them.
NYUV2_INTRINSICS = Intrinsics(fx=5.1885790117450188e+02,
                              fy=5.1946961112127485e+02,
                              cx=3.2558244941119034e+02 - 1,
                              cy=2.5373616633400465e+02 - 1)


def backproject(depth: np.ndarray, k: Intrinsics) -> np.ndarray:
    """3D points ``z * ((u - cx) / fx, (v - cy) / fy, 1)`` of every pixel.

    Shapes:
        depth (H, W) metres -> points (H, W, 3)
    """
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    z = depth.astype(np.float64)
    return np.stack([(u - k.cx) * z / k.fx, (v - k.cy) * z / k.fy, z], -1)


def normals_from_depth(depth: np.ndarray, k: Intrinsics,
                       max_rel_jump: float = 0.05) -> np.ndarray:
    """Unit normals from central differences of back-projected depth.

    At each pixel the tangents are ``P(v, u+1) - P(v, u-1)`` and
    ``P(v+1, u) - P(v-1, u)``; the normal is their normalised cross product,
    turned to face the camera. A pixel is invalid (0 vector) on the image
    border, where it or one of its four neighbours has no depth (0), or where
    a neighbour's depth differs from it by more than ``max_rel_jump``
    (relative): a depth discontinuity, where no single surface is seen.

    Args:
        depth (np.ndarray): (H, W) metres, 0 = invalid.
        k (Intrinsics): The camera, e.g. :data:`NYUV2_INTRINSICS`.
        max_rel_jump (float): Largest relative depth change to a neighbour.

    Returns:
        np.ndarray: (H, W, 3) float32.
    """
    depth = np.asarray(depth, np.float64)
    p = backproject(depth, k)
    n = np.zeros_like(p)
    du = p[1:-1, 2:] - p[1:-1, :-2]  # (H-2, W-2, 3)
    dv = p[2:, 1:-1] - p[:-2, 1:-1]
    cross = np.cross(du, dv)
    centre = depth[1:-1, 1:-1]
    valid = centre > 0
    for nb in (depth[1:-1, 2:], depth[1:-1, :-2], depth[2:, 1:-1],
               depth[:-2, 1:-1]):
        valid &= (nb > 0) & (np.abs(nb - centre) <= max_rel_jump * centre)
    norm = np.linalg.norm(cross, axis=-1)
    valid &= norm > 0
    unit = cross / np.maximum(norm, 1e-12)[..., None]
    # Face the camera: the point's direction is P itself.
    sign = np.where((unit * p[1:-1, 1:-1]).sum(-1) > 0, -1., 1.)
    n[1:-1, 1:-1] = np.where(valid[..., None], unit * sign[..., None], 0)
    return n.astype(np.float32)


def encode_normals(normals: np.ndarray) -> np.ndarray:
    """(H, W, 3) unit-or-zero normals -> 16-bit (n + 1) / 2 * 65535.

    Zero vectors are stored as 32768, which decodes to length 3e-5
    (invalid).
    """
    return np.round((np.asarray(normals, np.float64) + 1) / 2 *
                    65535).clip(0, 65535).astype(np.uint16)
