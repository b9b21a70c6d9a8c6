"""Convert the official NYUv2 labelled release to mmmae's folder layout.

Inputs (see docs/tutorials/prepare_nyuv2.md for where to get them):

* ``nyu_depth_v2_labeled.mat``: MATLAB v7.3 (HDF5), read with h5py. Keys
  ``images`` (N, 3, W, H) uint8, ``depths`` (N, W, H) float metres and
  ``labels`` (N, W, H) uint16 with 894 classes, 0 = unlabelled (h5py sees
  MATLAB arrays transposed, hence W before H).
* ``splits.mat``: MATLAB v5, keys ``trainNdxs`` (795) and ``testNdxs`` (654),
  1-based frame indices.
* ``classMapping40.mat`` (Gupta et al., CVPR 2013): key ``mapClass``, a
  1 x 894 array mapping class k (1-based) to 1..40.

Output::

    OUT/{train,test}/rgb/<name>.png         8-bit RGB
    OUT/{train,test}/depth/<name>.png       uint16 millimetres, 0 = invalid
    OUT/{train,test}/semseg/<name>.png      uint8, 0 unlabelled, 1..40
    OUT/{train,test}/mask_valid/<name>.png  255 where depth is valid, else 0
    OUT/{train,test}/normals/<name>.png     16-bit RGB, (n + 1) / 2 * 65535
    OUT/{train,test}/edge/<name>.png        uint8, 255 boundary, 0 else

Normals are computed from the depth and the NYUv2 colour camera's
intrinsics (``mmmae.datasets.geometry.NYUV2_INTRINSICS``): each pixel is
back-projected, the normal is the normalised cross product of the central
differences to its horizontal and vertical neighbours, turned to face the
camera, in the camera frame (x right, y down, z forward). Pixels on the
border, next to missing depth or across a depth jump of more than 5 % are
invalid (0 vector, stored 32768). Boundaries are derived from the 894-class
label map as the literature derives PASCAL-Context edges from its label
maps: ``thin(|Laplacian(labels)| > 0)`` (``mmmae.datasets.edges``).

``<name>`` is the 1-based frame index, zero-padded to 4 digits. Everything
is written under ``OUT.incomplete`` (each file atomically) and renamed to
``OUT`` at the end with a ``.complete`` manifest, so an interrupted run never
leaves files that look like a dataset; running it again resumes.

Example:
    python tools/dataset_converters/nyuv2.py data/nyuv2_raw -o data/nyuv2
"""
import argparse
import os
import os.path as osp
import sys
from typing import Dict, Optional

import numpy as np

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmmae.datasets.edges import label_boundaries  # noqa
from mmmae.datasets.geometry import (NYUV2_INTRINSICS,  # noqa
                                     encode_normals, normals_from_depth)
from mmmae.datasets.io_utils import (Progress, atomic_write_png,  # noqa
                                     check_out_dir, prepare_staging, publish)

MAT_NAME = 'nyu_depth_v2_labeled.mat'
SPLITS_NAME = 'splits.mat'
MAPPING_NAME = 'classMapping40.mat'
FOLDERS = ('rgb', 'depth', 'semseg', 'mask_valid', 'normals', 'edge')
# 2: normals and edge folders.
VERSION = 2


def _require(path: str, what: str) -> str:
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    return path


def _load_mat_v5(path: str) -> Dict[str, np.ndarray]:
    """Variables of a small .mat file (v5 via scipy, v7.3 via h5py)."""
    from scipy.io import loadmat
    try:
        return loadmat(path)
    except NotImplementedError:  # scipy refuses v7.3 (HDF5) files
        import h5py
        with h5py.File(path, 'r') as f:
            return {k: np.asarray(f[k]).T for k in f.keys()}
    except ValueError as err:
        raise ValueError(f'{path} is not a readable .mat file: {err}')


def _get(mat: dict, key: str, path: str) -> np.ndarray:
    if key not in mat:
        keys = sorted(k for k in mat if not k.startswith('__'))
        raise KeyError(f'{path} has no key "{key}" (keys: {keys})')
    return np.asarray(mat[key])


def read_splits(path: str, num_frames: int) -> Dict[str, np.ndarray]:
    """0-based frame indices of each split from ``splits.mat``."""
    mat = _load_mat_v5(_require(path, 'splits file'))
    splits = {}
    for split, key in (('train', 'trainNdxs'), ('test', 'testNdxs')):
        idx = _get(mat, key, path).astype(np.int64).ravel()
        if idx.size == 0 or idx.min() < 1 or idx.max() > num_frames:
            raise ValueError(f'{path}: "{key}" must hold 1-based indices in '
                             f'1..{num_frames}, got range '
                             f'{idx.min() if idx.size else None}..'
                             f'{idx.max() if idx.size else None}')
        splits[split] = idx - 1
    overlap = np.intersect1d(splits['train'], splits['test'])
    if overlap.size:
        raise ValueError(f'{path}: {overlap.size} frames are in both splits')
    return splits


def read_mapping(path: str) -> np.ndarray:
    """Lookup table: raw class (0..894) -> NYUv2-40 class (0..40)."""
    mat = _load_mat_v5(_require(path, 'class mapping file'))
    mapping = _get(mat, 'mapClass', path).astype(np.int64).ravel()
    if mapping.min() < 0 or mapping.max() > 40:
        raise ValueError(f'{path}: "mapClass" values must be in 0..40, got '
                         f'{mapping.min()}..{mapping.max()}')
    return np.concatenate([[0], mapping]).astype(np.uint8)  # 0 unlabelled


def convert_frame(image: np.ndarray, depth: np.ndarray, labels: np.ndarray,
                  lut: np.ndarray, frame: str) -> Dict[str, np.ndarray]:
    """One frame from h5py's transposed arrays to the output images.

    Shapes:
        image (3, W, H), depth (W, H), labels (W, H)
        -> rgb/normals (H, W, 3), depth/semseg/mask_valid/edge (H, W)
    """
    rgb = np.ascontiguousarray(image.transpose(2, 1, 0))  # 3 W H -> H W 3
    depth = np.asarray(depth, np.float64).T  # W H -> H W
    labels = np.asarray(labels).T
    valid = np.isfinite(depth) & (depth > 0) & (depth * 1000 <= 65535)
    depth_mm = np.where(valid, np.round(depth * 1000), 0).astype(np.uint16)
    if labels.max() >= len(lut):
        raise ValueError(f'frame {frame}: label {int(labels.max())} is beyond '
                         f'the {len(lut) - 1} classes of the mapping')
    # Normals of the stored (millimetre) depth, so they match the files.
    normals = normals_from_depth(depth_mm / 1000., NYUV2_INTRINSICS)
    edge = label_boundaries(labels)
    return dict(rgb=rgb, depth=depth_mm, semseg=lut[labels],
                mask_valid=np.where(valid, 255, 0).astype(np.uint8),
                normals=encode_normals(normals),
                edge=(edge * 255).astype(np.uint8))


def convert_nyuv2(mat_path: str,
                  splits_path: str,
                  mapping_path: str,
                  out_dir: str,
                  overwrite: bool = False,
                  progress: bool = True) -> Optional[dict]:
    """Convert the labelled NYUv2 release; see the module docstring.

    Returns:
        dict | None: The manifest written, or None if ``out_dir`` was already
        complete for these inputs.
    """
    import h5py
    _require(mat_path, 'NYUv2 labelled file')
    sources = {k: dict(name=osp.basename(p), bytes=osp.getsize(_require(
        p, f'{k} file'))) for k, p in (('mat', mat_path), (
            'splits', splits_path), ('mapping', mapping_path))}
    params = dict(tool='nyuv2', version=VERSION, sources=sources)
    if check_out_dir(out_dir, params, overwrite, 'tools/dataset_converters/'
                     'nyuv2.py'):
        return None
    try:
        mat = h5py.File(mat_path, 'r')
    except OSError as err:
        raise ValueError(f'{mat_path} is not a MATLAB v7.3 (HDF5) file; the '
                         f'official nyu_depth_v2_labeled.mat is ({err})')
    with mat:
        images, depths, labels = (_dataset(mat, k, mat_path)
                                  for k in ('images', 'depths', 'labels'))
        n = images.shape[0]
        if images.ndim != 4 or images.shape[1] != 3 or \
                depths.shape != (n, ) + images.shape[2:] or \
                labels.shape != depths.shape:
            raise ValueError(
                f'{mat_path}: expected images (N, 3, W, H), depths and '
                f'labels (N, W, H); got {images.shape}, {depths.shape}, '
                f'{labels.shape}')
        splits = read_splits(splits_path, n)
        lut = read_mapping(mapping_path)
        staging = prepare_staging(out_dir, params, resume=True)
        total = sum(len(v) for v in splits.values())
        bar = Progress(total, 'NYUv2') if progress else None
        resumed = 0
        for split, indices in splits.items():
            for folder in FOLDERS:
                os.makedirs(osp.join(staging, split, folder), exist_ok=True)
            for i in indices:
                name = f'{i + 1:04d}'
                paths = {f: osp.join(staging, split, f, f'{name}.png')
                         for f in FOLDERS}
                # Files are written atomically: one that exists is whole.
                if all(osp.isfile(p) for p in paths.values()):
                    resumed += 1
                else:
                    out = convert_frame(images[i], depths[i], labels[i], lut,
                                        name)
                    for folder, path in paths.items():
                        atomic_write_png(path, out[folder])
                if bar is not None:
                    bar.update()
    counts = {k: int(len(v)) for k, v in splits.items()}
    manifest = dict(tool='tools/dataset_converters/nyuv2.py', params=params,
                    counts=counts, resumed_frames=resumed,
                    layout='{split}/{modality}/{frame:04d}.png')
    publish(staging, out_dir, manifest, overwrite=overwrite)
    return manifest


def _dataset(mat, key: str, path: str):
    if key not in mat:
        raise KeyError(f'{path} has no key "{key}" (keys: '
                       f'{sorted(mat.keys())})')
    return mat[key]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert the official NYUv2 labelled release')
    parser.add_argument('raw_dir', nargs='?', default='.',
                        help=f'folder holding {MAT_NAME}, {SPLITS_NAME} and '
                        f'{MAPPING_NAME}')
    parser.add_argument('-o', '--out', default='data/nyuv2',
                        help='output folder (default data/nyuv2)')
    parser.add_argument('--mat', help=f'path of {MAT_NAME} (overrides '
                        'raw_dir)')
    parser.add_argument('--splits', help=f'path of {SPLITS_NAME}')
    parser.add_argument('--mapping', help=f'path of {MAPPING_NAME}')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing output folder')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    manifest = convert_nyuv2(
        args.mat or osp.join(args.raw_dir, MAT_NAME),
        args.splits or osp.join(args.raw_dir, SPLITS_NAME),
        args.mapping or osp.join(args.raw_dir, MAPPING_NAME),
        args.out, overwrite=args.overwrite)
    if manifest is None:
        print(f'{args.out} is already complete for these files.')
    else:
        print(f'wrote {manifest["counts"]} frames to {args.out}')


if __name__ == '__main__':
    main()
