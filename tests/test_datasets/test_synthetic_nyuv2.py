import filecmp
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from scipy.stats import spearmanr

from mmmae.datasets import synthetic_nyuv2 as synth
from mmmae.datasets.io_utils import MARKER, STAGING_SUFFIX, read_marker


def _read(root, split, folder, name='000000'):
    return cv2.imread(osp.join(root, split, folder, f'{name}.png'),
                      cv2.IMREAD_UNCHANGED)


def _files(root):
    out = []
    for dirpath, _, files in os.walk(root):
        out += [osp.relpath(osp.join(dirpath, f), root) for f in files]
    return sorted(out)


def test_layout_dtypes_and_ranges(synth_root):
    for split, num in (('train', 4), ('test', 2)):
        for folder in synth.FOLDERS:
            names = sorted(os.listdir(osp.join(synth_root, split, folder)))
            assert names == [f'{i:06d}.png' for i in range(num)]
    rgb = _read(synth_root, 'train', 'rgb')
    depth = _read(synth_root, 'train', 'depth')
    semseg = _read(synth_root, 'train', 'semseg')
    mask = _read(synth_root, 'train', 'mask_valid')
    assert rgb.shape == (32, 48, 3) and rgb.dtype == np.uint8
    assert depth.shape == (32, 48) and depth.dtype == np.uint16
    assert semseg.dtype == np.uint8 and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 255}
    assert semseg.max() <= 40
    # invalid depth is exactly where mask_valid is 0
    assert np.array_equal(depth == 0, mask == 0)
    valid = depth[mask > 0]
    assert valid.min() > 100 and valid.max() <= 10000  # 0.1 m .. 10 m
    marker = read_marker(synth_root)
    assert marker['counts'] == dict(train=4, test=2)


def test_scene_statistics():
    """Several classes, unlabelled seams, missing depth, darker when far."""
    classes, unlabelled, invalid, corr = set(), [], [], []
    for i in range(12):
        s = synth.render_scene(synth.sample_rng(0, 'train', i), (96, 128))
        classes |= set(np.unique(s['semseg']).tolist())
        unlabelled.append((s['semseg'] == 0).mean())
        invalid.append((s['mask_valid'] == 0).mean())
        floor = (s['semseg'] == 2) & (s['mask_valid'] > 0)
        if floor.sum() > 100:
            corr.append(spearmanr(s['rgb'].mean(2)[floor],
                                  s['depth'][floor])[0])
    assert {1, 2, 22} <= classes and len(classes - {0}) >= 8
    assert 0 < np.mean(unlabelled) < 0.2
    assert 0 < np.mean(invalid) < 0.2
    assert np.mean(corr) < -0.3  # shading falls off with distance


def test_deterministic_and_independent_of_count(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    synth.generate_synthetic_nyuv2(a, 3, 1, (32, 32), seed=7)
    synth.generate_synthetic_nyuv2(b, 3, 1, (32, 32), seed=7)
    synth.generate_synthetic_nyuv2(c, 2, 1, (32, 32), seed=8)
    for rel in _files(a):
        if rel != MARKER:
            assert filecmp.cmp(osp.join(a, rel), osp.join(b, rel),
                               shallow=False), rel
    assert not np.array_equal(_read(a, 'train', 'rgb'),
                              _read(c, 'train', 'rgb'))
    # sample i does not depend on how many samples were asked for
    s3 = synth.render_scene(synth.sample_rng(7, 'train', 1), (32, 32))
    assert np.array_equal(s3['rgb'][..., ::-1],  # cv2 reads BGR
                          _read(a, 'train', 'rgb', '000001'))


def test_rerun_is_noop_and_conflicts_raise(tmp_path):
    out = str(tmp_path / 'd')
    assert synth.generate_synthetic_nyuv2(out, 2, 1, (32, 32)) is not None
    stamp = os.stat(osp.join(out, 'train', 'rgb', '000000.png')).st_mtime_ns
    assert synth.generate_synthetic_nyuv2(out, 2, 1, (32, 32)) is None
    assert os.stat(osp.join(out, 'train', 'rgb',
                            '000000.png')).st_mtime_ns == stamp
    with pytest.raises(FileExistsError, match='other parameters'):
        synth.generate_synthetic_nyuv2(out, 3, 1, (32, 32))
    synth.generate_synthetic_nyuv2(out, 3, 1, (32, 32), overwrite=True)
    assert read_marker(out)['counts']['train'] == 3
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    with pytest.raises(FileExistsError, match='no .complete marker'):
        synth.generate_synthetic_nyuv2(str(foreign), 1, 1, (32, 32))


def test_interrupted_run_leaves_nothing_that_looks_valid(tmp_path,
                                                         monkeypatch):
    out = str(tmp_path / 'd')
    calls = dict(n=0)
    real = synth.atomic_write_png

    def flaky(path, img):
        calls['n'] += 1
        if calls['n'] == 6:
            raise KeyboardInterrupt
        real(path, img)

    monkeypatch.setattr(synth, 'atomic_write_png', flaky)
    with pytest.raises(KeyboardInterrupt):
        synth.generate_synthetic_nyuv2(out, 3, 1, (32, 32))
    assert not osp.exists(out)
    staging = f'{out}{STAGING_SUFFIX}-{os.getpid()}'
    assert osp.isdir(staging)
    # a staging folder of a process that no longer exists is cleaned up
    dead = f'{out}{STAGING_SUFFIX}-999999999'
    os.makedirs(dead)
    monkeypatch.setattr(synth, 'atomic_write_png', real)
    synth.generate_synthetic_nyuv2(out, 3, 1, (32, 32))
    assert not osp.exists(staging) and not osp.exists(dead)
    assert len(os.listdir(osp.join(out, 'train', 'rgb'))) == 3
    assert read_marker(out) is not None


def test_concurrent_runs_agree(tmp_path):
    """Two processes generating the same folder at once both succeed."""
    import multiprocessing as mp
    out = str(tmp_path / 'd')
    ctx = mp.get_context('fork')
    procs = [ctx.Process(target=synth.generate_synthetic_nyuv2,
                         args=(out, 6, 2, (32, 32))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    assert read_marker(out)['counts'] == dict(train=6, test=2)
    assert sorted(os.listdir(tmp_path)) == ['d']


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='size'):
        synth.generate_synthetic_nyuv2(str(tmp_path / 'x'), 1, 1, (8, 8))
    with pytest.raises(ValueError, match='num_train'):
        synth.generate_synthetic_nyuv2(str(tmp_path / 'x'), 0, 1)


def test_extra_tasks_follow_the_geometry():
    """Exact unit normals facing the camera (walls/floor as the room is
    built), thin binary boundaries on class changes, saliency = boxes."""
    floor_y, edge_share, sal_share = [], [], []
    for i in range(6):
        s = synth.render_scene(synth.sample_rng(0, 'train', i), (96, 128))
        n = 2 * s['normals'].astype(np.float64) / 65535 - 1
        length = np.linalg.norm(n, axis=-1)
        valid = s['mask_valid'] > 0
        np.testing.assert_allclose(length[valid], 1, atol=1e-4)
        assert (length[~valid] < 1e-3).all()  # missing depth: no normals
        # facing the camera: n . ray < 0 for the ray through the pixel
        # centre (OpenCV frame: y down)
        v, u = np.mgrid[0:96, 0:128] + 0.5
        ray = np.stack([(u - 64) / s['focal'], (v - 48) / s['focal'],
                        np.ones_like(u)], -1)
        assert ((n * ray).sum(-1)[valid] < 0).all()
        floor = (s['semseg'] == 2) & valid
        floor_y.append(n[floor][:, 1].mean())  # OpenCV: up is -y
        assert set(np.unique(s['edge'])) <= {0, 255}
        assert set(np.unique(s['sal'])) <= {0, 255}
        edge = s['edge'] > 0
        cls = s['semseg']
        # every class change between labelled neighbours is a boundary
        change = (cls[:, 1:] != cls[:, :-1]) & (cls[:, 1:] > 0) & \
            (cls[:, :-1] > 0)
        assert edge[:, 1:][change].all()
        edge_share.append(edge.mean())
        sal = s['sal'] > 0
        furniture = np.isin(cls, [3, 4, 6, 7, 10, 29])  # bed..box
        assert sal[furniture].all() and not sal[np.isin(cls, [1, 2, 22])]\
            .any()
        sal_share.append(sal.mean())
    assert np.mean(floor_y) < -0.8
    assert 0.01 < np.mean(edge_share) < 0.2
    assert 0.02 < np.mean(sal_share) < 0.6


def test_older_version_is_regenerated(tmp_path):
    import json
    out = str(tmp_path / 'd')
    synth.generate_synthetic_nyuv2(out, 1, 1, (32, 32))
    marker_path = osp.join(out, MARKER)
    marker = read_marker(out)
    marker['params']['version'] = synth.GENERATOR_VERSION - 1
    with open(marker_path, 'w') as f:
        json.dump(marker, f)
    os.remove(osp.join(out, 'train', 'normals', '000000.png'))
    assert synth.generate_synthetic_nyuv2(out, 1, 1, (32, 32)) is not None
    assert read_marker(out)['params']['version'] == synth.GENERATOR_VERSION
    assert osp.isfile(osp.join(out, 'train', 'normals', '000000.png'))
    # other parameters still need overwrite
    with pytest.raises(FileExistsError, match='other parameters'):
        synth.generate_synthetic_nyuv2(out, 2, 1, (32, 32))
