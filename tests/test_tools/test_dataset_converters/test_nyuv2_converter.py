"""The NYUv2 converter on a tiny file in the official schema."""
import os
import os.path as osp

import cv2
import h5py
import numpy as np
import pytest
from scipy.io import savemat

from mmmae.datasets import NYUv2MultiTaskDataset
from mmmae.datasets.io_utils import STAGING_SUFFIX, read_marker


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/dataset_converters/nyuv2.py', 'nyuv2_converter')


N, H, W = 5, 8, 12


@pytest.fixture
def raw(tmp_path):
    """nyu_depth_v2_labeled.mat (v7.3 / HDF5, transposed arrays),
    splits.mat (v5, 1-based column vectors), classMapping40.mat."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (N, H, W, 3), dtype=np.uint8)
    depth = rng.uniform(0.5, 9.5, (N, H, W)).astype(np.float32)
    depth[0, 0, :4] = 0  # missing depth
    labels = rng.integers(0, 895, (N, H, W)).astype(np.uint16)
    mapping = rng.integers(1, 41, (1, 894)).astype(np.float64)
    mat = str(tmp_path / 'nyu_depth_v2_labeled.mat')
    # MATLAB v7.3 files are HDF5 with a 512-byte header block.
    with h5py.File(mat, 'w', userblock_size=512) as f:
        f['images'] = rgb.transpose(0, 3, 2, 1)  # N H W 3 -> N 3 W H
        f['depths'] = depth.transpose(0, 2, 1)  # N H W -> N W H
        f['labels'] = labels.transpose(0, 2, 1)
    savemat(str(tmp_path / 'splits.mat'),
            dict(trainNdxs=np.array([[1.], [3.], [4.]]),
                 testNdxs=np.array([[2.], [5.]])))
    savemat(str(tmp_path / 'classMapping40.mat'), dict(mapClass=mapping))
    return dict(dir=str(tmp_path), rgb=rgb, depth=depth, labels=labels,
                mapping=mapping.ravel().astype(np.int64))


def _read(out, split, folder, name):
    return cv2.imread(osp.join(out, split, folder, f'{name}.png'),
                      cv2.IMREAD_UNCHANGED)


def test_convert(raw, tmp_path, capsys, tool):
    out = str(tmp_path / 'nyuv2')
    tool.main([raw['dir'], '-o', out])
    # progress (a line per tenth when stdout is not a terminal), then a summary
    printed = capsys.readouterr().out
    assert 'NYUv2 5/5' in printed and 'NYUv2 1/5' in printed, printed
    assert "wrote {'train': 3, 'test': 2} frames" in printed, printed
    assert read_marker(out)['counts'] == dict(train=3, test=2)
    assert sorted(os.listdir(osp.join(out, 'train', 'rgb'))) == [
        '0001.png', '0003.png', '0004.png']
    rgb = _read(out, 'train', 'rgb', '0001')[..., ::-1]
    assert np.array_equal(rgb, raw['rgb'][0])
    depth = _read(out, 'train', 'depth', '0001')
    assert depth.dtype == np.uint16 and depth.shape == (H, W)
    np.testing.assert_allclose(depth / 1000., raw['depth'][0], atol=5e-4)
    mask = _read(out, 'train', 'mask_valid', '0001')
    assert (mask[0, :4] == 0).all() and (depth[0, :4] == 0).all()
    assert (mask[raw['depth'][0] > 0] == 255).all()
    semseg = _read(out, 'test', 'semseg', '0005')
    lab = raw['labels'][4]
    want = np.where(lab == 0, 0, raw['mapping'][np.maximum(lab, 1) - 1])
    assert np.array_equal(semseg, want)
    # normals (16-bit, unit or invalid) and boundaries (0 / 255)
    normals = _read(out, 'train', 'normals', '0001')
    assert normals.dtype == np.uint16 and normals.shape == (H, W, 3)
    edge = _read(out, 'test', 'edge', '0005')
    assert set(np.unique(edge)) <= {0, 255}
    # the dataset reads it back, all four tasks
    ds = NYUv2MultiTaskDataset(out, split='test', targets=(
        'semseg', 'depth', 'normals', 'edge'), pipeline=[
            dict(type='LoadMultiModalFromFile'),
            dict(type='PackMultiModalInputs')])
    assert len(ds) == 2
    assert ds[1]['data_samples'].gt_edge.data[0].numpy().tolist() == (
        edge // 255).tolist()
    # a second run is a no-op
    assert tool.convert_nyuv2(
        osp.join(raw['dir'], 'nyu_depth_v2_labeled.mat'),
        osp.join(raw['dir'], 'splits.mat'),
        osp.join(raw['dir'], 'classMapping40.mat'), out) is None


def test_interrupted_run_resumes_without_half_files(raw, tmp_path,
                                                    monkeypatch, tool):
    out = str(tmp_path / 'nyuv2')
    real = tool.atomic_write_png
    calls = dict(n=0)

    def crash_midway(path, img):
        calls['n'] += 1
        if calls['n'] == 7:  # inside the second frame
            # leave a half-written temp file, as a killed process would
            with open(osp.join(osp.dirname(path),
                               f'.{osp.basename(path)}.tmp'), 'wb') as f:
                f.write(b'\x89PNG half')
            raise KeyboardInterrupt
        real(path, img)

    monkeypatch.setattr(tool, 'atomic_write_png', crash_midway)
    with pytest.raises(KeyboardInterrupt):
        tool.main([raw['dir'], '-o', out])
    assert not osp.exists(out)  # nothing that looks like a dataset
    monkeypatch.setattr(tool, 'atomic_write_png', real)
    tool.main([raw['dir'], '-o', out])
    marker = read_marker(out)
    assert marker['resumed_frames'] == 1
    assert not osp.exists(out + STAGING_SUFFIX)
    leftovers = [f for _, _, fs in os.walk(out) for f in fs
                 if f.endswith('.tmp')]
    assert leftovers == []
    ds = NYUv2MultiTaskDataset(out, split='train', pipeline=[
        dict(type='LoadMultiModalFromFile'),
        dict(type='PackMultiModalInputs')])
    for i in range(len(ds)):
        assert ds[i]['inputs']['rgb'].shape == (3, H, W)


def test_clear_errors(raw, tmp_path, tool):
    mat = osp.join(raw['dir'], 'nyu_depth_v2_labeled.mat')
    splits = osp.join(raw['dir'], 'splits.mat')
    mapping = osp.join(raw['dir'], 'classMapping40.mat')
    out = str(tmp_path / 'o')
    with pytest.raises(FileNotFoundError, match='nope.mat'):
        tool.convert_nyuv2(mat, str(tmp_path / 'nope.mat'), mapping, out)
    savemat(str(tmp_path / 'bad_splits.mat'), dict(trainNdxs=[[1.]]))
    with pytest.raises(KeyError, match='"testNdxs"'):
        tool.convert_nyuv2(mat, str(tmp_path / 'bad_splits.mat'), mapping,
                           out)
    savemat(str(tmp_path / 'bad_map.mat'), dict(className=[[1.]]))
    with pytest.raises(KeyError, match='"mapClass"'):
        tool.convert_nyuv2(mat, splits, str(tmp_path / 'bad_map.mat'), out)
    bad_mat = str(tmp_path / 'nolabels.mat')
    with h5py.File(bad_mat, 'w') as f:
        f['images'] = np.zeros((1, 3, 4, 4), np.uint8)
        f['depths'] = np.zeros((1, 4, 4), np.float32)
    with pytest.raises(KeyError, match='"labels"'):
        tool.convert_nyuv2(bad_mat, splits, mapping, out)
    savemat(str(tmp_path / 'v5.mat'), dict(images=np.zeros(3)))
    with pytest.raises(ValueError, match='not a MATLAB v7.3'):
        tool.convert_nyuv2(str(tmp_path / 'v5.mat'), splits, mapping, out)
    assert not osp.exists(out)


def test_frame_normals_and_boundaries(tool):
    """A tilted plane gives its normal; boundaries follow the raw labels."""
    from mmmae.datasets.edges import label_boundaries
    from mmmae.datasets.geometry import NYUV2_INTRINSICS as k
    h, w = 48, 64
    n = np.array([0.2, -0.6, -0.7])
    n /= np.linalg.norm(n)
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    ray = np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy, np.ones_like(u)],
                   -1)
    depth = -2.0 / (ray @ n)
    labels = np.ones((h, w), np.uint16)
    labels[:, 30:] = 5
    lut = np.arange(895).clip(0, 40).astype(np.uint8)
    out = tool.convert_frame(np.zeros((3, w, h), np.uint8), depth.T,
                             labels.T, lut, 'f')
    dec = 2 * out['normals'].astype(np.float64) / 65535 - 1
    inner = dec[1:-1, 1:-1]
    # millimetre depth: a small error remains
    angle = np.degrees(np.arccos(np.clip(inner @ n, -1, 1)))
    assert np.median(angle) < 1.0
    assert np.array_equal(out['edge'] // 255, label_boundaries(labels))
    assert out['edge'][:, 29:31].any() and not out['edge'][:, :28].any()
