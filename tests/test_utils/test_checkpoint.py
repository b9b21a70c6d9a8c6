"""mmmae's safe checkpoint loading: Runner checkpoints load with
weights_only=True, anything else is refused with the opt-in named, broken
files are named, and mmengine's loaders route through it."""
import argparse
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from torch.utils.data import Dataset

from mmmae.utils import (CorruptCheckpointError, UnsafeCheckpointError,
                         load_checkpoint_file, trust_checkpoint)
from mmmae.utils import checkpoint as ckpt_mod


class _Model(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)
        self.bn = nn.BatchNorm1d(1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        y = self.bn(self.fc(torch.stack(inputs))).squeeze(-1)
        t = torch.stack(data_samples)
        if mode == 'loss':
            return dict(loss=((y - t)**2).mean())
        return [dict(pred=p, gt=g) for p, g in zip(y, t)]


class _Data(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        x = torch.tensor([float(i), 1.])
        return dict(inputs=x, data_samples=x.sum())


class _NumpyMetric(BaseMetric):
    """Returns numpy scalars of several dtypes, as real metrics do; they end
    up in the message hub and so in the checkpoint."""

    def process(self, data_batch, data_samples):
        self.results += [float(d['pred']) for d in data_samples]

    def compute_metrics(self, results):
        return dict(
            f64=np.float64(np.mean(results)), f32=np.float32(1.5),
            i64=np.int64(3))


@pytest.fixture(scope='module')
def runner_ckpt(tmp_path_factory):
    """Checkpoints written by a real Runner (2 iterations, validation,
    best-checkpoint tracking, two param schedulers)."""
    work_dir = str(tmp_path_factory.mktemp('runner'))
    loader = dict(dataset=_Data(), batch_size=4,
                  sampler=dict(type='DefaultSampler', shuffle=False))
    runner = Runner(
        model=_Model(), work_dir=work_dir, train_dataloader=loader,
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=2,
                       val_interval=2),
        val_dataloader=loader, val_cfg=dict(), val_evaluator=[_NumpyMetric()],
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
                 end=1),
            dict(type='CosineAnnealingLR', by_epoch=False, begin=1, end=2)
        ],
        default_hooks=dict(checkpoint=dict(
            type='CheckpointHook', interval=2, by_epoch=False,
            save_best='f64', rule='less')),
        log_processor=dict(by_epoch=False), default_scope='mmmae',
        experiment_name=f'ckpt_test_{id(work_dir)}')
    runner.train()
    return osp.join(work_dir, 'iter_2.pth'), osp.join(work_dir,
                                                       'best_f64_iter_2.pth')


def test_runner_checkpoints_load_with_weights_only(runner_ckpt):
    for path in runner_ckpt:
        # The file really needs more than torch's own allowlist ...
        needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
        assert 'mmengine.logging.history_buffer.HistoryBuffer' in needed
        ckpt = load_checkpoint_file(path)
        assert ckpt['meta']['iter'] == 2
        assert set(ckpt['state_dict']) >= {'fc.weight', 'bn.running_mean'}
        hub = ckpt['message_hub']
        assert hub['log_scalars']['val/f64'].current() == pytest.approx(
            hub['runtime_info']['best_score'])
        # ... and the allowlist covers every global it holds.
        names = {n for _, n in (e for e in ckpt_mod.mmengine_safe_globals()
                                if isinstance(e, tuple))}
        names |= {f'{e.__module__}.{e.__qualname__}'
                  for e in ckpt_mod.mmengine_safe_globals()
                  if not isinstance(e, tuple)}
        assert needed <= names, needed - names


def test_mmengine_routes_local_files_through_safe_loader(tmp_path):
    assert CheckpointLoader._get_checkpoint_loader(
        str(tmp_path / 'a.pth')) is ckpt_mod.load_from_local
    assert CheckpointLoader._get_checkpoint_loader(
        'https://example.org/a.pth') is ckpt_mod.load_from_http


class _OpenFile:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def test_malicious_pickle_rejected_with_opt_in_named(tmp_path):
    marker = str(tmp_path / 'executed')
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={}, meta=dict(x=_OpenFile(marker))), path)
    # Directly and through mmengine's CheckpointLoader (load/resume path).
    for load in (load_checkpoint_file,
                 lambda p: CheckpointLoader.load_checkpoint(p, 'cpu')):
        with pytest.raises(UnsafeCheckpointError) as info:
            load(path)
        msg = str(info.value)
        assert path in msg and 'io.open' in msg
        assert f'MMMAE_TRUSTED_CHECKPOINTS={path}' in msg
        assert '--trust-checkpoint' in msg
    assert not osp.exists(marker)


def test_getattr_only_for_history_buffer(tmp_path):

    class _Getattr:

        def __reduce__(self):
            return (getattr, (torch.Tensor, '__init__'))

    path = str(tmp_path / 'getattr.pth')
    torch.save(dict(x=_Getattr()), path)
    with pytest.raises(UnsafeCheckpointError, match='getattr'):
        load_checkpoint_file(path)


def test_trust_is_per_file(tmp_path, monkeypatch):
    trusted = str(tmp_path / 'trusted.pth')
    other = str(tmp_path / 'other.pth')
    for path in (trusted, other):
        torch.save(dict(meta=argparse.Namespace(a=1)), path)
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(trusted)
    assert load_checkpoint_file(trusted, trusted=True)['meta'].a == 1

    monkeypatch.setenv('MMMAE_TRUSTED_CHECKPOINTS', f'/nowhere.pth:{trusted}')
    assert load_checkpoint_file(trusted)['meta'].a == 1
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(other)
    monkeypatch.delenv('MMMAE_TRUSTED_CHECKPOINTS')

    monkeypatch.setattr(ckpt_mod, '_TRUSTED', set())
    trust_checkpoint(other)
    assert load_checkpoint_file(other)['meta'].a == 1
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(trusted)


@pytest.mark.parametrize('cut', ['half', 'tail', 'empty', 'garbage'])
def test_broken_file_is_named(runner_ckpt, tmp_path, cut):
    with open(runner_ckpt[0], 'rb') as f:
        data = f.read()
    data = dict(half=data[:len(data) // 2], tail=data[:-30], empty=b'',
                garbage=b'not a checkpoint')[cut]
    path = str(tmp_path / f'{cut}.pth')
    with open(path, 'wb') as f:
        f.write(data)
    with pytest.raises(CorruptCheckpointError) as info:
        load_checkpoint_file(path)
    assert f'checkpoint file {path} is truncated or corrupt' in str(info.value)
    # Broken is not unsafe: the message does not invite trusting it.
    assert 'MMMAE_TRUSTED_CHECKPOINTS' not in str(info.value)


def test_missing_file_is_named(tmp_path):
    path = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match=path):
        load_checkpoint_file(path)


def test_legacy_format_truncated_is_corrupt(tmp_path):
    path = str(tmp_path / 'legacy.pth')
    torch.save(dict(a=torch.ones(3)), path,
               _use_new_zipfile_serialization=False)
    assert torch.equal(load_checkpoint_file(path)['a'], torch.ones(3))
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:-20])
    with pytest.raises(CorruptCheckpointError):
        load_checkpoint_file(path)


@pytest.mark.parametrize('protocol', [2, 4])
def test_legacy_format_malicious_pickle_is_unsafe(tmp_path, protocol):
    """The old (non-zip) format is checked statically too: a pickle that
    would call ``open`` is unsafe, not corrupt, and never runs. Protocol 4
    names the callable with STACK_GLOBAL instead of GLOBAL."""
    marker = str(tmp_path / 'executed')
    path = str(tmp_path / 'evil_legacy.pth')
    torch.save(dict(state_dict=dict(w=torch.ones(2)),
                    meta=dict(x=_OpenFile(marker))), path,
               _use_new_zipfile_serialization=False, pickle_protocol=protocol)
    for load in (load_checkpoint_file,
                 lambda p: CheckpointLoader.load_checkpoint(p, 'cpu')):
        with pytest.raises(UnsafeCheckpointError) as info:
            load(path)
        msg = str(info.value)
        assert path in msg and 'io.open' in msg and 'corrupt' not in msg
        assert '--trust-checkpoint' in msg
    assert not osp.exists(marker)


def test_unsafe_error_is_an_unpickling_error():
    # Callers that catch pickle errors (as mmengine does) still catch it.
    assert issubclass(UnsafeCheckpointError, pickle.UnpicklingError)
