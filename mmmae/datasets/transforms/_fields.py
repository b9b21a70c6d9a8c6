"""Which keys of a pipeline's ``results`` are spatial maps, and of what kind.

``LoadMultiModalFromFile`` records every map it loads in
``results['field_kinds']`` ({key: kind}); geometric transforms then treat all
of them alike, so every modality and target stays pixel-aligned. The kind
(a registered :class:`~mmmae.datasets.modality_kinds.ModalityKind`) decides
the interpolation, the padding value and what a flip does:

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
  literature pads them (InvPT ``PadImage``);
* any registered kind: its own ``interpolation``, ``pad_value``,
  ``flip_negate`` and ``unit_vectors``.

``INTERPOLATION`` ({kind: cv2 flag}), ``PAD_VALUE`` ({kind: value}) and
``KIND_OF_MODALITY`` ({name: kind}) are read-only views of the registry, so
kinds registered later appear in them too.
"""
from typing import Callable, Dict, Iterator, Mapping

import cv2
import numpy as np

from ..modality_kinds import (BUILTIN_KIND_OF, CV2_INTERPOLATION,
                              ModalityKind, UnknownModalityKindError,
                              default_kind_of, get_modality_kind,
                              modality_kind_names)
from ..tasks import TASK_FIELDS


class _KindView(Mapping):
    """Read-only {kind: attribute} view of the registered modality kinds."""

    def __init__(self, attr: Callable[[ModalityKind], object]):
        self._attr = attr

    def __getitem__(self, kind: str):
        return self._attr(get_modality_kind(kind))

    def __iter__(self) -> Iterator[str]:
        return iter(modality_kind_names())

    def __len__(self) -> int:
        return len(modality_kind_names())


class _NameView(Mapping):
    """{modality or task name: kind}: the built-in names, then every
    registered kind under its own name."""

    def __getitem__(self, name: str) -> str:
        return default_kind_of(name)

    def __iter__(self) -> Iterator[str]:
        extra = [k for k in modality_kind_names() if k not in BUILTIN_KIND_OF]
        return iter(list(BUILTIN_KIND_OF) + extra)

    def __len__(self) -> int:
        return len(list(iter(self)))


# Kind of a map loaded as an input modality (targets: TASK_FIELDS).
KIND_OF_MODALITY = _NameView()
TARGET_KEYS = {task: f.key for task, f in TASK_FIELDS.items()}
INTERPOLATION = _KindView(lambda k: k.cv2_interpolation)
PAD_VALUE = _KindView(lambda k: k.pad_value)


def modality_kind_of(results: dict, name: str) -> ModalityKind:
    """The kind of modality ``name`` in ``results``: as loaded
    (``field_kinds``), else the name's default.

    Raises:
        UnknownModalityKindError: no kind (names the modality and sample).
    """
    kind = (results.get('field_kinds') or {}).get(name)
    try:
        return get_modality_kind(kind or default_kind_of(name))
    except UnknownModalityKindError as err:
        raise UnknownModalityKindError(
            f'{err} (sample {results.get("img_path")})') from None


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
    spec = get_modality_kind(kind)
    if spec.unit_vectors:
        return resize_normals(arr, (h, w))
    out = cv2.resize(arr, (w, h), interpolation=spec.cv2_interpolation)
    if out.ndim == 2 and arr.ndim == 3:  # cv2 drops a single channel axis
        out = out[..., None]
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
    valid = cv2.resize(valid, (w, h), interpolation=CV2_INTERPOLATION[
        'nearest']).astype(bool)
    out = cv2.resize(normals, (w, h), interpolation=cv2.INTER_LINEAR)
    norm = np.linalg.norm(out, axis=-1, keepdims=True)
    valid &= norm[..., 0] > 1e-6
    out = np.where(valid[..., None], out / np.maximum(norm, 1e-6), 0)
    return out.astype(np.float32)


def flip_map(arr: np.ndarray, kind: str, direction: str) -> np.ndarray:
    """Flip one map; a normals map also negates the flipped axis (any kind:
    its ``flip_negate`` channel).

    Normals are in the camera frame (x right, y down), so mirroring the
    image left-right mirrors x (the multi-task literature's
    ``RandomHorizontalFlip`` does ``normals[..., 0] *= -1``) and mirroring
    it upside down mirrors y.
    """
    out = cv2.flip(arr, 1 if direction == 'horizontal' else 0)
    if out.ndim == 2 and arr.ndim == 3:  # cv2 drops a single channel axis
        out = out[..., None]
    channel = get_modality_kind(kind).negated_channel(direction)
    if channel is not None:
        out = out.copy()
        out[..., channel] *= -1
    return out


def first_shape(results: dict):
    """(H, W) shared by the spatial maps."""
    key = next(iter(spatial_fields(results)))
    return results[key].shape[:2]
