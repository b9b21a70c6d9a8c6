import os.path as osp

import cv2
import numpy as np
import pytest

from mmmae.datasets.synthetic_nyuv2 import generate_synthetic_nyuv2


@pytest.fixture(scope='session')
def synth_root(tmp_path_factory):
    """A tiny synthetic NYUv2 (4 train / 2 test, 32x48), shared read-only."""
    root = str(tmp_path_factory.mktemp('synth') / 'nyuv2_synth')
    generate_synthetic_nyuv2(root, num_train=4, num_test=2, size=(32, 48),
                             seed=3)
    return root


def write_png(path, arr):
    """Write an array as PNG (RGB order for 3 channels), creating folders."""
    import os
    os.makedirs(osp.dirname(path), exist_ok=True)
    if arr.ndim == 3:
        arr = arr[..., ::-1]
    assert cv2.imwrite(path, np.ascontiguousarray(arr))
    return path


@pytest.fixture
def png_writer():
    """The ``write_png(path, array)`` helper, for tests that build files."""
    return write_png


@pytest.fixture
def sample_files(tmp_path):
    """One sample's files with known content; returns (paths, arrays)."""
    h, w = 8, 12
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    depth = rng.integers(500, 5000, (h, w)).astype(np.uint16)
    semseg = rng.integers(0, 41, (h, w)).astype(np.uint8)
    mask = np.full((h, w), 255, np.uint8)
    mask[0, :3] = 0
    arrays = dict(rgb=rgb, depth=depth, semseg=semseg, mask_valid=mask)
    paths = {k: write_png(str(tmp_path / k / 'a.png'), v)
             for k, v in arrays.items()}
    return paths, arrays


@pytest.fixture(params=['npy', 'png'])
def nyud_mt(tmp_path, request):
    """A tiny NYUD_MT folder in either release's format: (root, arrays)."""
    from mt_layouts import make_nyud_mt
    root = str(tmp_path / 'NYUD_MT')
    return root, make_nyud_mt(root, png_version=request.param == 'png')


@pytest.fixture
def pascal_mt(tmp_path):
    """A tiny PASCAL_MT folder: (root, arrays)."""
    from mt_layouts import make_pascal_mt
    root = str(tmp_path / 'PASCAL_MT')
    return root, make_pascal_mt(root)
