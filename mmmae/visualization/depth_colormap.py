"""Depth maps as colour images."""
from typing import Optional, Tuple

import cv2
import numpy as np
import torch

_CMAPS = dict(magma=cv2.COLORMAP_MAGMA, inferno=cv2.COLORMAP_INFERNO,
              turbo=cv2.COLORMAP_TURBO, jet=cv2.COLORMAP_JET,
              viridis=cv2.COLORMAP_VIRIDIS, plasma=cv2.COLORMAP_PLASMA)


def depth_range(depth, percentile: float = 2.) -> Tuple[float, float]:
    """Robust (low, high) of the valid (> 0) depths, in the depth's units."""
    depth = _to_numpy(depth)
    valid = depth[(depth > 0) & np.isfinite(depth)]
    if valid.size == 0:
        return 0., 1.
    low, high = np.percentile(valid, (percentile, 100 - percentile))
    if high <= low:
        high = low + 1e-3
    return float(low), float(high)


def colorize_depth(depth,
                   vmin: Optional[float] = None,
                   vmax: Optional[float] = None,
                   cmap: str = 'magma',
                   invalid_black: bool = True) -> np.ndarray:
    """Colour-map a depth map; near is bright, invalid (<= 0) is black.

    Args:
        depth (ndarray | Tensor): (H, W) or (1, H, W) depth.
        vmin, vmax (float, optional): Colour range; defaults to the robust
            range of the valid pixels, so a gt and a prediction drawn with
            the gt's range are comparable.
        cmap (str): One of magma, inferno, turbo, jet, viridis, plasma.
        invalid_black (bool): Black out depths <= 0 or not finite. False
            colours every finite value (a signed map, e.g. standardised
            depth, or a colour bar that reaches 0).

    Returns:
        ndarray: (H, W, 3) uint8 RGB.
    """
    if cmap not in _CMAPS:
        raise ValueError(f'unknown depth colour map "{cmap}"; choose one of '
                         f'{sorted(_CMAPS)}')
    depth = _to_numpy(depth)
    low, high = depth_range(depth)
    vmin = low if vmin is None else vmin
    vmax = high if vmax is None else vmax
    scaled = np.nan_to_num(depth - vmin) / max(vmax - vmin, 1e-6)
    # near = 1 (bright), far = 0 (dark)
    gray = (255 * (1 - np.clip(scaled, 0, 1))).astype(np.uint8)
    bgr = cv2.applyColorMap(gray, _CMAPS[cmap])
    rgb = bgr[..., ::-1].copy()
    if invalid_black:
        rgb[~((depth > 0) & np.isfinite(depth))] = 0
    else:
        rgb[~np.isfinite(depth)] = 0
    return rgb


def _to_numpy(depth) -> np.ndarray:
    if isinstance(depth, torch.Tensor):
        depth = depth.detach().float().cpu().numpy()
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim == 3:
        if depth.shape[0] != 1:
            raise ValueError('a depth map must be (H, W) or (1, H, W), got '
                             f'shape {depth.shape}')
        depth = depth[0]
    if depth.ndim != 2:
        raise ValueError('a depth map must be (H, W) or (1, H, W), got shape '
                         f'{depth.shape}')
    return depth
