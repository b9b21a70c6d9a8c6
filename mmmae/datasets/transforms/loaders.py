"""Registered loaders: one decoding function per file convention.

A loader is ``fn(path: str, ctx: LoadContext) -> np.ndarray`` in
``mmmae.registry.MODALITY_LOADERS``; every modality kind names one
(``mmmae.datasets.modality_kinds``) and ``LoadMultiModalFromFile`` calls it.
Errors name the file. Built-in loaders:

================== ==========================================================
rgb8               8-bit image -> (H, W, 3) uint8 RGB (grey expanded, alpha
                   dropped)
depth              16-bit PNG in ``1 / depth_scale`` m, or float ``.npy`` in
                   metres -> (H, W) float32 m, 0 = invalid
depth_tiff         32-bit float TIFF        } in ``1 / float_depth_scale`` m
depth_exr          OpenEXR                  } (default 1: metres); NaN, +inf
depth_float32_png  packed float32 RGBA PNG  } -> 0 (invalid)
float_tiff         float TIFF (1, 3 or 4 channels) -> (H, W[, C]) float32,
                   channels in the file's order
float_npy          numeric ``.npy`` (H, W) or (H, W, C) -> float32
png_unit           8/16-bit PNG -> (H, W[, C]) float32 in [0, 1]
label_map          8/16-bit class ids (``reduce_zero_label``, ``num_classes``
                   and ``ignore_index`` as ``LoadMultiModalFromFile`` says);
                   a parts ``.mat`` for the parts task
normals            RGB PNG ``(n + 1) / 2 * max`` or float ``.npy``
edge               {0, 255} PNG, {0, 1} map or PASCAL-Context ``.mat``
saliency           grey PNG, 1 where ``v / max > 0.5``
================== ==========================================================

A plugin adds one with ``@MODALITY_LOADERS.register_module()``.
"""
import functools
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

import cv2
import numpy as np

from mmmae.registry import MODALITY_LOADERS
from ..modality_kinds import ModalityKind
from ..pascal_parts import read_human_parts
from . import decoders
from .decoders import read_image

Loader = Callable[[str, 'LoadContext'], np.ndarray]


@dataclass
class LoadContext:
    """What a loader may read besides the file.

    Args:
        name (str): Modality or task name ('rgb', 'semseg', 'parts', 'ir').
        kind (ModalityKind): Its kind.
        results (dict): The sample's pipeline ``results`` (paths, dataset
            info such as ``num_classes``).
        options (dict): The loading transform's options (``depth_scale``,
            ``reduce_zero_label``, ``num_classes``, ``ignore_index``,
            ``normals_zero_tol``, ``normals_unit_tol``) updated with the
            kind's ``loader_args``.
        backend_args (dict, optional): mmengine file backend arguments.
        shape (tuple, optional): (H, W) of the maps already loaded.
        valid_mask (np.ndarray, optional): The sample's ``mask_valid`` as
            decoded, given to the depth loader. A loader that zeroes the
            depth where it is 0 sets ``mask_applied``; otherwise
            ``LoadMultiModalFromFile`` applies it after loading.
    """

    name: str
    kind: ModalityKind
    results: dict
    options: dict = field(default_factory=dict)
    backend_args: Optional[dict] = None
    shape: Optional[Tuple[int, int]] = None
    valid_mask: Optional[np.ndarray] = None
    mask_applied: bool = False


def get_loader(kind: ModalityKind) -> Loader:
    """The loader a kind names.

    Raises:
        KeyError: it is not registered (names the kind and the loader).
    """
    fn = MODALITY_LOADERS.module_dict.get(kind.loader)
    if fn is None:
        fn = MODALITY_LOADERS.get(kind.loader)
    if fn is None:
        raise KeyError(
            f'modality kind "{kind.name}" names loader "{kind.loader}", '
            'which is not registered in MODALITY_LOADERS (loaders: '
            f'{sorted(MODALITY_LOADERS.module_dict)})')
    return fn


# rgb decoded straight into RGB order (OpenCV >= 4.10): the decoder skips
# its BGR swap and we skip ours, ~0.3 ms of a 640x480 PNG. ANYDEPTH keeps a
# 16-bit file 16-bit (an error below, not a silent 8-bit conversion);
# IGNORE_ORIENTATION keeps EXIF rotation off, as IMREAD_UNCHANGED has it.
_RGB_FLAGS = (cv2.IMREAD_COLOR_RGB | cv2.IMREAD_ANYDEPTH |
              cv2.IMREAD_IGNORE_ORIENTATION) \
    if hasattr(cv2, 'IMREAD_COLOR_RGB') else None


@MODALITY_LOADERS.register_module()
def rgb8(path: str, ctx: LoadContext) -> np.ndarray:
    """8-bit RGB; grey is expanded to 3 channels and an alpha channel is
    dropped (with OpenCV >= 4.10 by the decoder itself, the same bytes)."""
    if _RGB_FLAGS is not None:
        img = read_image(path, ctx.backend_args, flags=_RGB_FLAGS)
        if img.dtype != np.uint8:
            raise ValueError(f'{path}: rgb must be 8-bit, got {img.dtype}')
        return img
    img = read_image(path, ctx.backend_args)
    if img.dtype != np.uint8:
        raise ValueError(f'{path}: rgb must be 8-bit, got {img.dtype}')
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    elif img.shape[2] == 4:
        img = img[..., :3]
    elif img.shape[2] != 3:
        raise ValueError(f'{path}: rgb has {img.shape[2]} channels')
    # cv2 BGR -> RGB: the same bytes as np.ascontiguousarray(img[..., ::-1])
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


@MODALITY_LOADERS.register_module()
def depth(path: str, ctx: LoadContext) -> np.ndarray:
    if path.endswith('.npy'):
        return decoders.depth_from_npy(path)
    scale = float(ctx.options.get('depth_scale', 1000.))
    raw = read_image(path, ctx.backend_args)
    if raw.ndim != 2:
        raise ValueError(f'{path}: depth must have one channel, got '
                         f'shape {raw.shape}')
    if raw.dtype != np.uint16:
        raise ValueError(
            f'{path}: depth is {raw.dtype}, expected a 16-bit PNG in '
            f'units of 1/{scale:g} m (an 8-bit file cannot '
            'hold metric depth; was it saved as a visualisation?)')
    mask = ctx.valid_mask
    if mask is not None and mask.dtype == np.uint8 and \
            mask.shape == raw.shape:
        # Invalid pixels zeroed on the 16-bit values (cv2.copyTo's new
        # array is zero where the mask is 0): 0 / scale is 0, so the
        # metres equal masking after the division, with half the bytes
        # to move. Another mask (16-bit, another size) is left to
        # LoadMultiModalFromFile, which applies it or says what is wrong.
        raw = cv2.copyTo(raw, mask)
        ctx.mask_applied = True
    # = raw.astype(np.float32) / scale (scale is a Python float, so
    # float32 after NEP 50): numpy casts the uint16 values exactly and
    # divides in float32, in one pass (checked for all 65536 values).
    return np.divide(raw, np.float32(scale), dtype=np.float32)


def _float_depth(raw: np.ndarray, path: str, ctx: LoadContext):
    depth = decoders.depth_from_array(
        decoders.float_map(raw, path, 'float depth', channels=1), path)
    scale = float(ctx.options.get('float_depth_scale', 1.))
    return depth / scale if scale != 1 else depth


@MODALITY_LOADERS.register_module()
def depth_tiff(path: str, ctx: LoadContext) -> np.ndarray:
    return _float_depth(read_image(path, ctx.backend_args), path, ctx)


@MODALITY_LOADERS.register_module()
def depth_exr(path: str, ctx: LoadContext) -> np.ndarray:
    return _float_depth(decoders.read_exr(path, ctx.backend_args), path, ctx)


@MODALITY_LOADERS.register_module()
def depth_float32_png(path: str, ctx: LoadContext) -> np.ndarray:
    raw = decoders.decode_float32_png(read_image(path, ctx.backend_args),
                                      path)
    return _float_depth(raw, path, ctx)


@MODALITY_LOADERS.register_module()
def float_tiff(path: str, ctx: LoadContext) -> np.ndarray:
    """Float TIFF as stored (NaN kept: a kind decides what it means)."""
    return decoders.float_map(read_image(path, ctx.backend_args), path,
                              ctx.name, ctx.kind.channels)


@MODALITY_LOADERS.register_module()
def float_npy(path: str, ctx: LoadContext) -> np.ndarray:
    """A numeric (H, W[, C]) ``.npy`` as float32 (any channel count)."""
    arr = decoders.load_npy(path)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f'{path}: {ctx.name} must be a numeric (H, W) or '
                         f'(H, W, C) array, got {arr.dtype} {arr.shape}')
    return arr.astype(np.float32)


@MODALITY_LOADERS.register_module()
def png_unit(path: str, ctx: LoadContext) -> np.ndarray:
    """8- or 16-bit PNG divided by its dtype's maximum -> [0, 1]."""
    raw = read_image(path, ctx.backend_args)
    if raw.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'{path}: {ctx.name} must be an 8- or 16-bit PNG, '
                         f'got {raw.dtype}')
    top = float(np.iinfo(raw.dtype).max)
    return decoders.file_channel_order(raw).astype(np.float32) / top


def _label_dtype(labels: np.ndarray, ignore_index: int):
    """uint8 when ids fit (as before), uint16 for > 255 classes: geometric
    transforms keep both, and no id wraps around."""
    if ignore_index >= 256:
        return np.int64
    return np.uint8 if labels.max(initial=0) < 256 else np.uint16


@MODALITY_LOADERS.register_module()
def label_map(path: str, ctx: LoadContext) -> np.ndarray:
    """Class ids of an 8- or 16-bit map (see ``LoadMultiModalFromFile``)."""
    task, results, opts = ctx.name, ctx.results, ctx.options
    ignore_index = opts.get('ignore_index', 255)
    if task == 'parts' and path.endswith('.mat'):
        if ctx.shape is None:
            raise ValueError(f'{path}: load an image before the human '
                             'parts of a .mat (its size is needed)')
        return read_human_parts(path, ctx.shape, ignore_index)
    raw = read_image(path, ctx.backend_args)
    if raw.ndim != 2:
        raise ValueError(f'{path}: {task} must be a single-channel label '
                         f'map, got shape {raw.shape}')
    if task == 'parts':
        reduce, num_classes = False, results.get('parts_num_classes')
    else:
        reduce = opts.get('reduce_zero_label')
        if reduce is None:
            reduce = results.get('reduce_zero_label', True)
        num_classes = opts.get('num_classes') or results.get('num_classes')
    if raw.dtype == np.uint8 and raw.size:
        # Look every pixel up in the decode of the 256 values: the same
        # ids and dtype as decoding every pixel, ~6x faster. A map with a
        # bad value takes the per-pixel decode, which raises its error.
        top = raw.max()  # ~1/20 of the table look-up
        offset, limit = _label_shift_u8(bool(reduce), num_classes,
                                        ignore_index)
        if top < limit:
            # Up to ``top`` the table is v -> (v + offset) mod 256 (NYUv2:
            # 0 -> 255, v -> v - 1): numpy's wrapping uint8 add gives its
            # ids ~15x faster than the look-up.
            return np.add(raw, offset)
        table, bad = _label_table_u8(bool(reduce), num_classes, ignore_index)
        # No value reaches the first bad one (NYUv2: ids <= 40 < 41): no
        # pixel is bad.
        if top < _first_bad(bad) or not cv2.LUT(raw, bad).any():
            return cv2.LUT(raw, table) if table.dtype == np.uint8 else \
                table[raw]
    return _decode_labels(raw, path, reduce, num_classes, ignore_index)


@functools.lru_cache(maxsize=32)
def _label_table_u8(reduce: bool, num_classes: Optional[int],
                    ignore_index: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(table, bad)``: the class id of each 8-bit value on disk (as
    :func:`_decode_labels` decodes a map of it) and 1 where it is an error.

    Shapes:
        table (256,) uint8 (int64 for ignore_index >= 256); bad (256,) uint8
    """
    bad = np.zeros(256, np.uint8)
    ids = []
    for v in range(256):
        try:
            ids.append(_decode_labels(np.full(1, v, np.uint8), '', reduce,
                                      num_classes, ignore_index))
        except ValueError:
            bad[v] = 1
            ids.append(np.zeros(1, np.uint8))
    table = np.concatenate(ids)
    table = table.astype(_label_dtype(table, ignore_index))
    table.setflags(write=False)  # cached: shared by every call
    bad.setflags(write=False)
    return table, bad


@functools.lru_cache(maxsize=32)
def _label_shift_u8(reduce: bool, num_classes: Optional[int],
                    ignore_index: int) -> Tuple[np.uint8, int]:
    """``(offset, limit)``: for every 8-bit value v < ``limit`` the decode
    (:func:`_label_table_u8`) is a valid uint8 id equal to ``(v + offset)
    mod 256``; ``limit`` 0 when even value 0 is not."""
    table, bad = _label_table_u8(reduce, num_classes, ignore_index)
    if table.dtype != np.uint8:
        return np.uint8(0), 0
    offset = table[0]
    shifted = np.add(np.arange(256, dtype=np.uint8), offset)
    broken = np.flatnonzero((shifted != table) | (bad != 0))
    return offset, int(broken[0]) if broken.size else 256


def _first_bad(bad: np.ndarray) -> int:
    """The smallest 8-bit value whose decode is an error (256: none)."""
    hits = np.flatnonzero(bad)
    return int(hits[0]) if hits.size else 256


def _decode_labels(raw: np.ndarray, path: str, reduce: bool,
                   num_classes: Optional[int], ignore_index: int):
    """Label values on disk -> class ids (any shape), or an error naming
    ``path`` and the largest bad value."""
    raw = raw.astype(np.int64)
    ignore = raw == ignore_index
    if reduce:
        ignore |= raw == 0
        labels = raw - 1
        top = num_classes  # largest valid value on disk
    else:
        labels = raw
        top = None if num_classes is None else num_classes - 1
    if top is not None:
        bad = ~ignore & (raw > top)
        if bad.any():
            raise ValueError(
                f'{path}: label {int(raw[bad].max())} on disk is neither '
                f'unlabelled nor a class (valid: '
                f'{"1" if reduce else "0"}..{top}, unlabelled '
                f'{"0 or " if reduce else ""}{ignore_index})')
    clash = ~ignore & (labels == ignore_index)
    if clash.any():  # only a 16-bit map can hold ignore_index + 1
        raise ValueError(
            f'{path}: label {ignore_index + 1} on disk decodes to class '
            f'{ignore_index}, which is the ignore_index; with more than '
            f'{ignore_index} classes set ignore_index above them (e.g. '
            '65535)')
    labels[ignore] = ignore_index
    return labels.astype(_label_dtype(labels, ignore_index))


@MODALITY_LOADERS.register_module()
def normals(path: str, ctx: LoadContext) -> np.ndarray:
    tols = dict(zero_tol=ctx.options.get('normals_zero_tol', 0.1),
                unit_tol=ctx.options.get('normals_unit_tol', 0.1))
    if path.endswith('.npy'):
        out = decoders.normals_from_array(decoders.load_npy(path), path,
                                          **tols)
    else:
        raw = read_image(path, ctx.backend_args)
        if raw.ndim == 3:
            raw = raw[..., ::-1]  # cv2 BGR -> RGB = x, y, z
        out = decoders.normals_from_png(raw, path, **tols)
    label_path = ctx.results.get('normals_label_path')
    if label_path:
        out = decoders.mask_normals(
            out, decoders.mat_label_map(label_path),
            ctx.results['normals_valid_labels'], label_path)
    return out


@MODALITY_LOADERS.register_module()
def edge(path: str, ctx: LoadContext) -> np.ndarray:
    if path.endswith('.mat'):
        return decoders.edge_from_mat(path)
    raw = decoders.load_npy(path) if path.endswith('.npy') else \
        read_image(path, ctx.backend_args)
    return decoders.binary_map(raw, path, 'edge',
                               ctx.options.get('ignore_index', 255))


@MODALITY_LOADERS.register_module()
def saliency(path: str, ctx: LoadContext) -> np.ndarray:
    return decoders.saliency_from_png(read_image(path, ctx.backend_args),
                                      path)
