"""Decoders of the multi-task ground-truth files, by file format.

Each function reads one file and returns the array the pipeline works with,
or raises an error naming the file. The formats are those the datasets of
this package meet:

* normals: 8- or 16-bit 3-channel PNG encoding ``v = (n + 1) / 2 * max``
  with x, y, z in R, G, B (the literature's PNGs: ``2 * v / 255 - 1``), or a
  float ``.npy`` (H, W, 3) in [-1, 1] (Multi-Task-Learning-PyTorch's
  NYUD-MT);
* edge: PNG in {0, 255} (edge = 255, InvPT's NYUD-MT) or {0, 1}, a
  ``.npy`` in {0, 1} (Multi-Task-Learning-PyTorch), with 255 = ignore
  allowed in ``.npy`` and {0, 1} PNGs; or a PASCAL-Context ``.mat`` with a
  ``LabelMap``, whose boundaries are computed (``mmmae.datasets.edges``);
* sal: 8-bit PNG, salient where ``v / 255 > 0.5`` (the literature thresholds
  the distilled grey-level maps);
* depth: additionally a float ``.npy`` in metres (NYUD-MT);
* float maps (any modality, e.g. depth in metres): 32-bit float TIFF,
  OpenEXR (when this OpenCV build has the codec and
  ``OPENCV_IO_ENABLE_OPENEXR=1`` was set before ``cv2`` was imported), and
  "packed" float32 PNG: an 8-bit RGBA PNG whose R, G, B, A bytes are the
  little-endian bytes of one float32 per pixel (PNG itself has no float
  type); :func:`encode_float32_png` writes one.
"""
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import mmengine.fileio as fileio
import numpy as np

from ..edges import label_boundaries


def load_npy(path: str) -> np.ndarray:
    """``np.load`` with an error naming the file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'file not found: {path}')
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ValueError(f'cannot read {path} as a .npy array: {err}') from None


def load_mat(path: str) -> dict:
    """Variables of a MATLAB v5 file, with an error naming the file."""
    from scipy.io import loadmat
    if not osp.isfile(path):
        raise FileNotFoundError(f'file not found: {path}')
    try:
        return loadmat(path)
    except (ValueError, NotImplementedError, TypeError) as err:
        raise ValueError(f'cannot read {path} as a MATLAB v5 .mat file: '
                         f'{err}') from None


def mat_label_map(path: str, key: str = 'LabelMap') -> np.ndarray:
    """The (H, W) label map stored under ``key`` in a .mat file."""
    mat = load_mat(path)
    if key not in mat:
        keys = sorted(k for k in mat if not k.startswith('__'))
        raise KeyError(f'{path} has no "{key}" (keys: {keys})')
    labels = np.asarray(mat[key])
    if labels.ndim != 2:
        raise ValueError(f'{path}: "{key}" must be (H, W), got {labels.shape}')
    return labels


def depth_from_npy(path: str) -> np.ndarray:
    """Float metres from a (H, W) or (H, W, 1) ``.npy``; NaN -> 0."""
    return depth_from_array(load_npy(path), path)


def depth_from_array(depth: np.ndarray, path: str) -> np.ndarray:
    """Check decoded depth in metres: NaN and +inf -> 0 (invalid).

    Raises:
        ValueError: not a numeric single-channel map, or negative values
            (names ``path``).

    Shapes:
        depth (H, W) or (H, W, 1) -> (H, W) float32
    """
    if depth.ndim == 3 and depth.shape[2] == 1:
        depth = depth[..., 0]
    if depth.ndim != 2 or not np.issubdtype(depth.dtype, np.number):
        raise ValueError(f'{path}: depth must be a numeric (H, W) array, got '
                         f'{depth.dtype} {depth.shape}')
    depth = np.nan_to_num(depth.astype(np.float32), nan=0., posinf=0.)
    if (depth < 0).any():
        raise ValueError(f'{path}: depth has negative values (min '
                         f'{depth.min():g}); expected metres, 0 = invalid')
    return depth


def imread_local(path: str, flags: int) -> Optional[np.ndarray]:
    """``cv2.imread``: how :func:`read_image` reads a local file (a name of
    its own, so a tool can see the reads, as ``mmmae.utils.data_speed``
    does for the decode floor)."""
    return cv2.imread(path, flags)


def read_image(path: str, backend_args: Optional[dict] = None,
               flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Decode an image file unchanged (bit depth and channels kept; cv2's
    BGR(A) channel order).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the bytes are not a decodable image (names ``path``).
    """
    if backend_args is None and '://' not in str(path):
        # A local file: cv2.imread runs the same decoder as cv2.imdecode
        # on the file's bytes (the same array) without the Python bytes
        # object and the copy into it (~0.2 ms of a 640x480 PNG). It
        # returns None for a missing or bad file: the path below then
        # raises the error naming it.
        img = imread_local(str(path), flags)
        if img is not None:
            return img
    try:
        buf = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError:
        raise FileNotFoundError(f'file not found: {path}') from None
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), flags)
    if img is None:
        raise ValueError(f'cannot decode {path}: the file is corrupt or not '
                         'an image')
    return img


def file_channel_order(img: np.ndarray) -> np.ndarray:
    """cv2's BGR / BGRA -> the channel order stored in the file."""
    if img.ndim == 3 and img.shape[2] == 3:
        return np.ascontiguousarray(img[..., ::-1])
    if img.ndim == 3 and img.shape[2] == 4:
        return np.ascontiguousarray(img[..., [2, 1, 0, 3]])
    return img


def float_map(raw: np.ndarray, path: str, what: str = 'map',
              channels: Optional[int] = None) -> np.ndarray:
    """A decoded float image as float32 in the file's channel order.

    Raises:
        ValueError: not a float image, or ``channels`` differs (names
            ``path``).

    Shapes:
        raw (H, W[, C]) float -> (H, W) if C == 1 else (H, W, C) float32
    """
    if raw.dtype.kind != 'f':
        raise ValueError(f'{path}: {what} must be a 32-bit float image, got '
                         f'{raw.dtype} (an integer TIFF/PNG needs another '
                         'loader, e.g. a 16-bit PNG in millimetres)')
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[..., 0]
    got = 1 if raw.ndim == 2 else raw.shape[2]
    if channels is not None and got != channels:
        raise ValueError(f'{path}: {what} must have {channels} channel(s), '
                         f'got shape {raw.shape}')
    return file_channel_order(raw).astype(np.float32, copy=False)


def exr_unavailable_reason() -> Optional[str]:
    """Why this process cannot decode OpenEXR with OpenCV, or None."""
    info = cv2.getBuildInformation()
    for line in info.splitlines():
        if line.strip().startswith('OpenEXR:') and \
                line.split(':', 1)[1].strip().upper().startswith('NO'):
            return (f'this OpenCV build ({cv2.__version__}) has no OpenEXR '
                    'codec ("OpenEXR: NO" in cv2.getBuildInformation()); '
                    'install an OpenCV build with OpenEXR, or convert the '
                    'file to a float32 TIFF')
    if os.environ.get('OPENCV_IO_ENABLE_OPENEXR', '').lower() not in (
            '1', 'true', 'on', 'yes'):
        return ('OpenCV reads OpenEXR only when the environment variable '
                'OPENCV_IO_ENABLE_OPENEXR=1 is set before cv2 is imported; '
                'export it before starting Python')
    return None


def read_exr(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """Decode an OpenEXR file (float32 or half) unchanged.

    Raises:
        RuntimeError: OpenCV cannot read EXR here (names the file and why).
        ValueError: the file is corrupt (names it).
    """
    reason = exr_unavailable_reason()
    if reason is not None:
        if not osp.isfile(path):
            raise FileNotFoundError(f'file not found: {path}')
        raise RuntimeError(f'cannot read {path}: {reason}')
    return read_image(path, backend_args)


def encode_float32_png(arr: np.ndarray) -> bytes:
    """PNG bytes of an (H, W) float32 map packed into 8-bit RGBA.

    The R, G, B, A bytes of each pixel are the little-endian bytes of its
    float32 value (bit-exact; NaN and inf survive).

    Shapes:
        arr (H, W) float -> PNG of (H, W, 4) uint8
    """
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ValueError(f'a packed float32 PNG holds one (H, W) map, got '
                         f'shape {arr.shape}')
    rgba = np.ascontiguousarray(arr.astype('<f4')).view(np.uint8).reshape(
        *arr.shape, 4)
    ok, buf = cv2.imencode('.png', np.ascontiguousarray(
        rgba[..., [2, 1, 0, 3]]))  # cv2 writes BGRA
    if not ok:
        raise ValueError('cv2 could not encode the packed float32 PNG')
    return buf.tobytes()


def decode_float32_png(raw: np.ndarray, path: str) -> np.ndarray:
    """Reinterpret an 8-bit RGBA image as little-endian float32 per pixel.

    Raises:
        ValueError: not 8-bit with 4 channels (names ``path``).

    Shapes:
        raw (H, W, 4) uint8 (cv2's BGRA) -> (H, W) float32
    """
    if raw.dtype != np.uint8 or raw.ndim != 3 or raw.shape[2] != 4:
        raise ValueError(
            f'{path}: a packed float32 PNG must be 8-bit RGBA (4 bytes of a '
            f'little-endian float32 per pixel), got {raw.dtype} shape '
            f'{raw.shape}')
    rgba = file_channel_order(raw)  # R G B A = bytes 0..3
    return rgba.view('<f4')[..., 0].astype(np.float32)


def normals_from_array(raw: np.ndarray, path: str,
                       zero_tol: float = 0.1,
                       unit_tol: float = 0.1) -> np.ndarray:
    """Check and renormalise decoded normals.

    A pixel with length below ``zero_tol`` is invalid and set to the 0
    vector (the literature's PNGs store invalid pixels as 128 = 0.004, its
    ``.npy`` files as 0). Every other pixel must have length within
    ``unit_tol`` of 1 (8-bit quantisation costs at most 0.007); it is then
    renormalised to exactly 1.

    Raises:
        ValueError: a valid pixel is not unit length (names ``path``, the
            number of such pixels and the worst length).

    Shapes:
        raw (H, W, 3) float -> (H, W, 3) float32
    """
    if raw.ndim != 3 or raw.shape[2] != 3:
        raise ValueError(f'{path}: normals must be (H, W, 3), got '
                         f'{raw.shape}')
    normals = np.nan_to_num(raw.astype(np.float32))
    norm = np.linalg.norm(normals, axis=-1)
    valid = norm >= zero_tol
    bad = valid & (np.abs(norm - 1) > unit_tol)
    if bad.any():
        worst = norm[bad][np.argmax(np.abs(norm[bad] - 1))]
        raise ValueError(
            f'{path}: normals are not unit length on {int(bad.sum())} valid '
            f'pixel(s) (e.g. length {worst:.3f}; tolerance {unit_tol}, '
            f'below {zero_tol} counts as invalid); was the file encoded as '
            '(n + 1) / 2 * 255, or are these not normals?')
    return np.where(valid[..., None],
                    normals / np.maximum(norm, 1e-6)[..., None],
                    0).astype(np.float32)


def normals_from_png(raw: np.ndarray, path: str, **tols) -> np.ndarray:
    """Decode ``2 * v / max - 1`` of an RGB (x, y, z) 8/16-bit PNG."""
    if raw.ndim != 3 or raw.shape[2] != 3:
        raise ValueError(f'{path}: a normals PNG must have 3 channels, got '
                         f'shape {raw.shape}')
    if raw.dtype not in (np.uint8, np.uint16):
        raise ValueError(f'{path}: normals PNG must be 8- or 16-bit, got '
                         f'{raw.dtype}')
    top = float(np.iinfo(raw.dtype).max)
    return normals_from_array(2 * raw.astype(np.float32) / top - 1, path,
                              **tols)


def mask_normals(normals: np.ndarray, labels: np.ndarray,
                 valid_labels: Sequence[int], path: str) -> np.ndarray:
    """Keep normals only on pixels whose label is in ``valid_labels``.

    PASCAL-Context's distilled normals are trusted only on classes that
    NYUD also has (the reference loaders' ``normals_valid_classes``).
    """
    if labels.shape != normals.shape[:2]:
        raise ValueError(f'{path}: label map {labels.shape} and normals '
                         f'{normals.shape[:2]} differ in size')
    keep = np.isin(labels, np.asarray(valid_labels))
    return np.where(keep[..., None], normals, 0).astype(np.float32)


def binary_map(raw: np.ndarray, path: str, what: str,
               ignore_index: int = 255) -> np.ndarray:
    """A {0, 1} map with ``ignore_index`` from an edge PNG or array.

    Accepted encodings: {0, 255} (255 = positive, 8-bit PNGs) and {0, 1}
    with optional ``ignore_index``. Anything else is not binary.

    Shapes:
        raw (H, W) or (H, W, 1) -> (H, W) uint8
    """
    if raw.ndim == 3 and raw.shape[2] == 1:
        raw = raw[..., 0]
    if raw.ndim != 2:
        raise ValueError(f'{path}: {what} must be a single-channel map, got '
                         f'shape {raw.shape}')
    values = np.unique(raw)
    if set(values.tolist()) <= {0, 255} and raw.dtype == np.uint8 and \
            values.max(initial=0) == 255 and path.endswith('.png'):
        return (raw == 255).astype(np.uint8)
    if not set(values.tolist()) <= {0, 1, ignore_index}:
        shown = values[:8].tolist()
        raise ValueError(
            f'{path}: {what} map is not binary: values {shown}'
            f'{"..." if len(values) > 8 else ""}; expected {{0, 1}} (or '
            f'{{0, 255}} in an 8-bit PNG), {ignore_index} = ignore')
    return raw.astype(np.uint8)


def edge_from_mat(path: str) -> np.ndarray:
    """Boundaries of a PASCAL-Context ``LabelMap`` .mat, {0, 1} uint8."""
    return label_boundaries(mat_label_map(path))


def saliency_from_png(raw: np.ndarray, path: str,
                      threshold: Optional[float] = 0.5) -> np.ndarray:
    """Salient (1) where ``v / max > threshold``, as the literature does.

    Shapes:
        raw (H, W) uint8 -> (H, W) uint8 {0, 1}
    """
    if raw.ndim == 3:  # some saliency PNGs are saved as grey RGB
        if not (raw == raw[..., :1]).all():
            raise ValueError(f'{path}: saliency must be a grey map, got '
                             f'{raw.shape[2]} different channels')
        raw = raw[..., 0]
    top = float(np.iinfo(raw.dtype).max) if raw.dtype.kind == 'u' else 1.
    return (raw.astype(np.float32) / top > threshold).astype(np.uint8)
