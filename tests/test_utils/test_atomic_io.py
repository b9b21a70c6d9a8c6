"""Atomic writes: temp name in the same folder, fsync, rename; the old file
survives errors and a full disk."""
import errno
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmmae.utils import atomic_io
from mmmae.utils.atomic_io import (DiskFullError, atomic_imwrite, atomic_open,
                                   atomic_torch_save, atomic_write_bytes,
                                   atomic_write_text, staged_dir)


def _enospc_writes(monkeypatch, after_bytes=0):
    """Files opened by os.fdopen accept ``after_bytes`` bytes, then fail as
    a full disk does."""
    real_fdopen = os.fdopen

    class FullDiskFile:

        def __init__(self, f):
            self._f, self._left = f, after_bytes

        def write(self, data):
            if len(data) > self._left:
                self._f.write(data[:self._left])
                self._left = 0
                raise OSError(errno.ENOSPC, 'No space left on device')
            self._left -= len(data)
            return self._f.write(data)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._f.__exit__(*exc)

        def __getattr__(self, name):
            return getattr(self._f, name)

    monkeypatch.setattr(
        os, 'fdopen', lambda *a, **k: FullDiskFile(real_fdopen(*a, **k)))


def test_write_replaces_by_rename(tmp_path):
    path = str(tmp_path / 'a.bin')
    atomic_write_bytes(path, b'old')
    with atomic_open(path, 'wb') as f:
        f.write(b'new, half written')
        # The final name still holds the old file; the bytes go to a
        # hidden temporary file in the same folder (same file system).
        with open(path, 'rb') as g:
            assert g.read() == b'old'
        tmp = f.name if isinstance(f.name, str) else None
        others = [n for n in os.listdir(tmp_path) if n != 'a.bin']
        assert len(others) == 1 and others[0].startswith('.a.bin.') and \
            others[0].endswith('.tmp'), others
        assert tmp is None or osp.dirname(tmp) == str(tmp_path)
    with open(path, 'rb') as g:
        assert g.read() == b'new, half written'
    assert os.listdir(tmp_path) == ['a.bin']


def test_text_and_mode(tmp_path):
    path = str(tmp_path / 'sub' / 'last_checkpoint')
    atomic_write_text(path, 'work/iter_4.pth')
    with open(path) as f:
        assert f.read() == 'work/iter_4.pth'
    # The mode a plain open() would give (mkstemp alone gives 0600).
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(ValueError, match='mode'):
        with atomic_open(path, 'a'):
            pass


def test_error_inside_block_keeps_old_file_and_removes_temp(tmp_path):
    path = str(tmp_path / 'a.txt')
    atomic_write_text(path, 'old')
    with pytest.raises(RuntimeError, match='boom'):
        with atomic_open(path, 'w') as f:
            f.write('partial')
            raise RuntimeError('boom')
    with open(path) as f:
        assert f.read() == 'old'
    assert os.listdir(tmp_path) == ['a.txt']


def test_kill_before_rename_keeps_old_file(tmp_path, monkeypatch):
    """Everything up to the rename happened; the process dies there."""
    path = str(tmp_path / 'iter_4.pth')
    atomic_torch_save({'w': torch.zeros(3)}, path)

    def killed(tmp, dest):
        raise KeyboardInterrupt  # stands in for the end of the process

    monkeypatch.setattr(atomic_io, '_publish', killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_torch_save({'w': torch.ones(3)}, path)
    assert torch.equal(torch.load(path)['w'], torch.zeros(3))
    assert os.listdir(tmp_path) == ['iter_4.pth']


@pytest.mark.parametrize('after_bytes', [0, 10])
def test_full_disk_names_file_and_keeps_old(tmp_path, monkeypatch,
                                            after_bytes):
    path = str(tmp_path / 'iter_4.pth')
    atomic_torch_save({'w': torch.zeros(3)}, path)
    _enospc_writes(monkeypatch, after_bytes)
    with pytest.raises(DiskFullError) as info:
        atomic_torch_save({'w': torch.ones(1000)}, path)
    msg = str(info.value)
    assert f'disk full while writing {path}' in msg
    assert 'no space left' in msg
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert torch.equal(torch.load(path)['w'], torch.zeros(3))
    assert os.listdir(tmp_path) == ['iter_4.pth']


def test_quota_exceeded_is_disk_full(tmp_path, monkeypatch):
    def no_quota(*args, **kwargs):
        raise OSError(errno.EDQUOT, 'Disk quota exceeded')

    monkeypatch.setattr(atomic_io.tempfile, 'mkstemp', no_quota)
    with pytest.raises(DiskFullError, match='a.txt'):
        atomic_write_text(str(tmp_path / 'a.txt'), 'x')


def test_imwrite_round_trip_and_bad_image(tmp_path):
    rgb = np.random.default_rng(0).integers(0, 255, (8, 6, 3), np.uint8)
    path = str(tmp_path / 'pic.png')
    atomic_imwrite(path, rgb[..., ::-1])  # a negative-stride view
    assert np.array_equal(cv2.imread(path), rgb[..., ::-1])
    depth = np.arange(48, dtype=np.uint16).reshape(6, 8) * 1000
    atomic_imwrite(str(tmp_path / 'd.png'), depth)
    assert np.array_equal(
        cv2.imread(str(tmp_path / 'd.png'), cv2.IMREAD_UNCHANGED), depth)
    with pytest.raises(ValueError, match='bad.png'):
        atomic_imwrite(str(tmp_path / 'bad.png'), np.zeros((4, 4, 7),
                                                            np.float64))
    assert sorted(os.listdir(tmp_path)) == ['d.png', 'pic.png']


def test_staged_dir_publishes_only_on_success(tmp_path):
    out = str(tmp_path / 'preds')
    os.makedirs(out)
    atomic_write_text(osp.join(out, 'keep.txt'), 'earlier run')
    atomic_write_text(osp.join(out, 'a.png'), 'old a')
    with staged_dir(out) as staging:
        assert osp.dirname(staging) == str(tmp_path)
        with open(osp.join(staging, 'a.png'), 'w') as f:
            f.write('new a')
        os.makedirs(osp.join(staging, 'iou'))
        with open(osp.join(staging, 'iou', 'b.png'), 'w') as f:
            f.write('b')
        assert sorted(os.listdir(out)) == ['a.png', 'keep.txt']
    with open(osp.join(out, 'a.png')) as f:
        assert f.read() == 'new a'
    assert osp.isfile(osp.join(out, 'iou', 'b.png'))
    assert osp.isfile(osp.join(out, 'keep.txt'))
    assert sorted(os.listdir(tmp_path)) == ['preds']

    with pytest.raises(RuntimeError):
        with staged_dir(out) as staging:
            with open(osp.join(staging, 'a.png'), 'w') as f:
                f.write('from a failed run')
            raise RuntimeError('test failed midway')
    with open(osp.join(out, 'a.png')) as f:
        assert f.read() == 'new a'
    assert sorted(os.listdir(tmp_path)) == ['preds']
