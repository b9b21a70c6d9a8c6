"""Every local write of mmengine's file backends goes through atomic_io."""
import os

import mmengine
import pytest
import torch
from mmengine.fileio import FileClient, get_file_backend
from mmengine.runner import save_checkpoint

from mmmae.registry import VISBACKENDS
from mmmae.utils import atomic_io, register_all_modules
from mmmae.utils.atomic_backend import (AtomicHardDiskBackend,
                                        AtomicLocalBackend,
                                        install_atomic_local_backend)
from mmmae.utils.atomic_io import DiskFullError


@pytest.fixture
def published(monkeypatch):
    """Paths that reached atomic_io's rename, in order."""
    seen = []
    real = atomic_io._publish

    def record(tmp, path):
        seen.append(os.path.basename(path))
        real(tmp, path)

    monkeypatch.setattr(atomic_io, '_publish', record)
    return seen


def test_backends_are_atomic_after_register_all_modules():
    register_all_modules()
    assert type(get_file_backend('/x/iter_1.pth')) is AtomicLocalBackend
    assert type(get_file_backend(
        backend_args=dict(backend='local'))) is AtomicLocalBackend
    assert type(get_file_backend(
        '/x/a.json', enable_singleton=True)) is AtomicLocalBackend
    assert type(FileClient.infer_client(uri='/x/a').client) is \
        AtomicHardDiskBackend
    install_atomic_local_backend()  # idempotent
    assert type(get_file_backend('/x/iter_1.pth')) is AtomicLocalBackend


def test_mmengine_writes_go_through_atomic_io(tmp_path, published):
    ckpt = str(tmp_path / 'iter_1.pth')
    save_checkpoint({'w': torch.ones(2)}, ckpt)
    save_checkpoint({'w': torch.ones(2)}, str(tmp_path / 'old.pth'),
                    file_client_args=dict(backend='disk'))
    mmengine.dump(dict(a=1), str(tmp_path / 'results.json'))
    mmengine.dump([1, 2], str(tmp_path / 'results.pkl'))
    assert published == ['iter_1.pth', 'old.pth', 'results.json',
                         'results.pkl']
    assert torch.equal(torch.load(ckpt)['w'], torch.ones(2))
    assert mmengine.load(str(tmp_path / 'results.json')) == dict(a=1)


def test_save_checkpoint_on_full_disk(tmp_path, monkeypatch):
    ckpt = str(tmp_path / 'iter_1.pth')
    save_checkpoint({'w': torch.zeros(2)}, ckpt)

    def full(tmp, path):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(atomic_io, '_publish', full)
    with pytest.raises(DiskFullError, match=f'disk full while writing {ckpt}'):
        save_checkpoint({'w': torch.ones(2)}, ckpt)
    monkeypatch.undo()
    assert torch.equal(torch.load(ckpt)['w'], torch.zeros(2))
    assert os.listdir(tmp_path) == ['iter_1.pth']


def test_local_vis_backend_is_atomic(tmp_path, published):
    backend = VISBACKENDS.build(
        dict(type='LocalVisBackend', save_dir=str(tmp_path)))
    backend.add_image('val_0', torch.zeros(4, 4, 3).byte().numpy(), step=3)
    backend.add_config(mmengine.Config(dict(a=1)))
    assert published == ['val_0_3.png', 'config.py']
    assert os.path.isfile(tmp_path / 'vis_image' / 'val_0_3.png')
    assert 'a = 1' in open(tmp_path / 'config.py').read()
    with pytest.raises(TypeError, match='val_1'):
        backend.add_image('val_1', torch.zeros(4, 4, 3).numpy())
