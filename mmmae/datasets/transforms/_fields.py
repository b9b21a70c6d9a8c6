"""Which keys of a pipeline's ``results`` are spatial maps, and of what kind.

``LoadMultiModalFromFile`` records every map it loads in
``results['field_kinds']`` ({key: kind}); geometric transforms then treat all
of them alike, so every modality and target stays pixel-aligned. The kind
decides the interpolation and the padding value:

* ``image`` (rgb): bilinear, pads 0;
* ``depth`` (metres, 0 = invalid): nearest, so invalid pixels never blend
  into valid ones, pads 0 (= invalid);
* ``label`` (class ids, 255 = ignore): nearest, pads 255;
* ``normals`` ((H, W, 3) float, unit length, 0 vector = invalid): bilinear,
  then renormalised to unit length, with validity resized by nearest so an
  invalid pixel never turns valid by blending; pads 0 (= invalid). A
  horizontal flip negates x, a vertical one y (``flip_map``);
* ``edge`` (boundaries {0, 1}, 255 = ignore) and ``binary`` (saliency {0, 1},
  255 = ignore): nearest, so they stay binary; pad 255, as the multi-task
  literature pads them (InvPT ``PadImage``).
"""
from typing import Callable, Dict

import cv2
import numpy as np

from ..tasks import TASK_FIELDS

# Kind of a map loaded as an input modality (targets: TASK_FIELDS).
KIND_OF_MODALITY = dict(rgb='image', depth='depth', semseg='label',
                        normals='normals', edge='edge', sal='binary',
                        parts='label')
TARGET_KEYS = {task: f.key for task, f in TASK_FIELDS.items()}
# INTER_NEAREST_EXACT samples at pixel centres like INTER_LINEAR does;
# plain INTER_NEAREST is shifted by up to half an output pixel.
_NEAREST = getattr(cv2, 'INTER_NEAREST_EXACT', cv2.INTER_NEAREST)
INTERPOLATION = dict(image=cv2.INTER_LINEAR, depth=_NEAREST, label=_NEAREST,
                     normals=cv2.INTER_LINEAR, edge=_NEAREST, binary=_NEAREST)
PAD_VALUE = dict(image=0, depth=0, label=255, normals=0, edge=255, binary=255)


def spatial_fields(results: dict) -> Dict[str, str]:
    """{key: kind} of the maps present in ``results``."""
    kinds = results.get('field_kinds')
    if not kinds:
        raise KeyError('results has no "field_kinds": put '
                       'LoadMultiModalFromFile before geometric transforms')
    return {k: v for k, v in kinds.items() if k in results}


def apply_to_fields(results: dict,
                    fn: Callable[[np.ndarray, str], np.ndarray]) -> dict:
    """Replace every map by ``fn(map, kind)``; updates ``img_shape``."""
    for key, kind in spatial_fields(results).items():
        results[key] = fn(results[key], kind)
    first = next(iter(spatial_fields(results)), None)
    if first is not None:
        results['img_shape'] = tuple(results[first].shape[:2])
        if 'pad_shape' in results:  # a crop after a pad: no padding left
            results['pad_shape'] = results['img_shape']
    return results


def resize_map(arr: np.ndarray, kind: str, size_hw) -> np.ndarray:
    """Resize one map to (h, w) with its kind's interpolation."""
    h, w = int(size_hw[0]), int(size_hw[1])
    if arr.shape[:2] == (h, w):
        return arr
    if kind == 'normals':
        return resize_normals(arr, (h, w))
    out = cv2.resize(arr, (w, h), interpolation=INTERPOLATION[kind])
    return out


def resize_normals(normals: np.ndarray, size_hw) -> np.ndarray:
    """Bilinear resize of unit normals, renormalised; 0 stays invalid.

    Validity (non-zero vector) is resized by nearest, so the valid region
    moves exactly like a label map's; a valid output pixel whose bilinear
    blend cancels out (opposite normals) becomes invalid.

    Shapes:
        normals (H, W, 3) float -> (h, w, 3) float32
    """
    h, w = int(size_hw[0]), int(size_hw[1])
    normals = normals.astype(np.float32)
    valid = (normals != 0).any(-1).astype(np.uint8)
    valid = cv2.resize(valid, (w, h), interpolation=_NEAREST).astype(bool)
    out = cv2.resize(normals, (w, h), interpolation=cv2.INTER_LINEAR)
    norm = np.linalg.norm(out, axis=-1, keepdims=True)
    valid &= norm[..., 0] > 1e-6
    out = np.where(valid[..., None], out / np.maximum(norm, 1e-6), 0)
    return out.astype(np.float32)


def flip_map(arr: np.ndarray, kind: str, direction: str) -> np.ndarray:
    """Flip one map; a normals map also negates the flipped axis.

    Normals are in the camera frame (x right, y down), so mirroring the
    image left-right mirrors x (the multi-task literature's
    ``RandomHorizontalFlip`` does ``normals[..., 0] *= -1``) and mirroring
    it upside down mirrors y.
    """
    out = cv2.flip(arr, 1 if direction == 'horizontal' else 0)
    if kind == 'normals':
        out = out.copy()
        out[..., 0 if direction == 'horizontal' else 1] *= -1
    return out


def first_shape(results: dict):
    """(H, W) shared by the spatial maps."""
    key = next(iter(spatial_fields(results)))
    return results[key].shape[:2]
