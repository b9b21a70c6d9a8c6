"""The ``infrared`` modality kind, and infrared-like images for the synthetic
NYUv2 set.

The kind: one float32 channel (arbitrary linear units) read from a 32-bit
float TIFF by mmmae's ``float_tiff`` loader; bilinear resize (it is an
intensity image, like rgb); padding 0 (no light); standardised by the mean
and standard deviation of the synthetic train split (measured with
``tools/make_infrared.py --stats``); a flip does nothing special.

The images: an active infrared camera (a Kinect's IR stream) sees the
scene lit by its own emitter, so a surface's brightness is its near-infrared
reflectance times the ``1 / d^2`` fall-off of the emitter's light. Here the
reflectance is a red-weighted grey of the rgb image and ``d`` the metric
depth, so the channel carries both appearance and a depth cue.
"""
import os
import os.path as osp
from typing import Dict

import cv2
import numpy as np

from mmmae.datasets.modality_kinds import register_modality_kind
from mmmae.utils.atomic_io import atomic_write_bytes

# Measured on data/nyuv2_synth/train (200 images) by
# ``python projects/custom_modality/tools/make_infrared.py --stats``.
IR_MEAN, IR_STD = 0.1486, 0.1654

INFRARED = register_modality_kind(
    'infrared', loader='float_tiff', channels=1, dtype='float32',
    interpolation='bilinear', pad_value=0.,
    normalize=dict(mean=(IR_MEAN, ), std=(IR_STD, )))

_NIR_WEIGHTS = np.array([0.6, 0.3, 0.1], np.float32)  # R, G, B
REFERENCE_DEPTH = 2.0  # metres at which the fall-off factor is 1
FAR = 10.0  # invalid depth (0) counts as this far: hardly lit


def infrared_from_rgb_depth(rgb: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Infrared-like intensity of one view.

    Args:
        rgb (np.ndarray): (H, W, 3) uint8, RGB order.
        depth (np.ndarray): (H, W) metres, 0 = invalid.

    Returns:
        np.ndarray: (H, W) float32, ``reflectance * (2 m / d)^2``.
    """
    if rgb.shape[:2] != depth.shape[:2]:
        raise ValueError(f'rgb {rgb.shape[:2]} and depth {depth.shape[:2]} '
                         'differ in size')
    reflectance = rgb.astype(np.float32) @ _NIR_WEIGHTS / 255.
    d = np.where(depth > 0, depth, FAR).clip(0.5, FAR).astype(np.float32)
    return (reflectance * (REFERENCE_DEPTH / d)**2).astype(np.float32)


def write_infrared(data_root: str, split: str, overwrite: bool = False
                   ) -> Dict[str, float]:
    """Write ``data_root/{split}/ir/<name>.tiff`` for every rgb image.

    Reads ``{split}/rgb/<name>.png`` and ``{split}/depth/<name>.png``
    (uint16 mm). Each TIFF is written atomically; existing ones are kept
    unless ``overwrite``.

    Returns:
        dict: ``count`` of images, ``written`` of them, and the ``mean`` and
        ``std`` of all pixels of the split.
    """
    rgb_dir = osp.join(data_root, split, 'rgb')
    depth_dir = osp.join(data_root, split, 'depth')
    out_dir = osp.join(data_root, split, 'ir')
    if not osp.isdir(rgb_dir):
        raise FileNotFoundError(f'no rgb folder {rgb_dir}; generate the '
                                'synthetic set first (tools/'
                                'dataset_converters/synthetic_nyuv2.py)')
    os.makedirs(out_dir, exist_ok=True)
    names = sorted(f for f in os.listdir(rgb_dir)
                   if f.endswith('.png') and not f.startswith('.'))
    total, total_sq, pixels, written = 0., 0., 0, 0
    for name in names:
        stem = name[:-len('.png')]
        bgr = cv2.imread(osp.join(rgb_dir, name), cv2.IMREAD_COLOR)
        depth_path = osp.join(depth_dir, name)
        raw = cv2.imread(depth_path, cv2.IMREAD_UNCHANGED)
        if bgr is None or raw is None:
            raise ValueError(f'cannot read {osp.join(rgb_dir, name)} or '
                             f'{depth_path}')
        ir = infrared_from_rgb_depth(bgr[..., ::-1],
                                     raw.astype(np.float32) / 1000.)
        total += float(ir.sum(dtype=np.float64))
        total_sq += float((ir.astype(np.float64)**2).sum())
        pixels += ir.size
        path = osp.join(out_dir, stem + '.tiff')
        if overwrite or not osp.isfile(path):
            ok, buf = cv2.imencode('.tiff', ir)
            if not ok:
                raise ValueError(f'cv2 cannot encode a float32 TIFF for '
                                 f'{path}')
            atomic_write_bytes(path, buf.tobytes())
            written += 1
    mean = total / max(pixels, 1)
    std = max(total_sq / max(pixels, 1) - mean**2, 0.)**0.5
    return dict(count=len(names), written=written, mean=mean, std=std)
