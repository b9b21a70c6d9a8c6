"""mmmae's CheckpointHook: the new checkpoint and last_checkpoint are
complete before anything older is removed."""
import os
import os.path as osp
import uuid

import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import CheckpointHook as MMEngineCheckpointHook
from mmengine.model import BaseModel
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.runner import Runner
from torch.utils.data import DataLoader

from mmmae.engine.hooks import AtomicCheckpointHook
from mmmae.utils import atomic_io
from mmmae.utils.atomic_io import DiskFullError


class _Linear(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        pred = self.fc(inputs).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((pred - data_samples)**2).mean())
        return [dict(pred=p) for p in pred]


class _RisingMetric(BaseMetric):
    """A score that improves at every validation: each one is a new best."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        self.calls += 1
        return dict(acc=float(self.calls))


def _collate(items):
    x = torch.stack([torch.tensor([float(i), 1.]) for i in items])
    return dict(inputs=x, data_samples=x.sum(1))


def _runner(work_dir, max_iters, **ckpt):
    loader = dict(batch_size=2, collate_fn=_collate)
    return Runner(
        model=_Linear(),
        work_dir=str(work_dir),
        train_dataloader=DataLoader(list(range(4)), **loader),
        val_dataloader=DataLoader(list(range(2)), **loader),
        val_evaluator=Evaluator(_RisingMetric()),
        val_cfg=dict(),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=1, **ckpt)),
        experiment_name=f'ckpt_{uuid.uuid4().hex}',
        default_scope='mmmae')


def _fail_saving(monkeypatch, name):
    """Writes of files called ``name`` fail as on a full disk, after their
    bytes went to the temporary file."""
    real = atomic_io._publish

    def publish(tmp, path):
        if osp.basename(path) == name:
            raise OSError(28, 'No space left on device')
        real(tmp, path)

    monkeypatch.setattr(atomic_io, '_publish', publish)


def _last(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read()


def test_config_type_builds_the_atomic_hook(tmp_path):
    hook = MMENGINE_HOOKS.build(dict(type='CheckpointHook', interval=2))
    assert isinstance(hook, AtomicCheckpointHook)
    assert isinstance(hook, MMEngineCheckpointHook)
    runner = _runner(tmp_path, 1)
    assert [type(h).__name__ for h in runner.hooks].count(
        'AtomicCheckpointHook') == 1


def test_keeps_previous_checkpoint_when_save_fails(tmp_path, monkeypatch):
    # max_keep_ckpts=1: mmengine's hook deletes iter_1 before writing
    # iter_2, so a failed save there leaves no checkpoint at all.
    runner = _runner(tmp_path, 2, max_keep_ckpts=1)
    _fail_saving(monkeypatch, 'iter_2.pth')
    with pytest.raises(DiskFullError, match='iter_2.pth'):
        runner.train()
    assert osp.isfile(tmp_path / 'iter_1.pth')
    assert _last(tmp_path) == str(tmp_path / 'iter_1.pth')
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]


def test_last_checkpoint_failure_keeps_old_record(tmp_path, monkeypatch):
    runner = _runner(tmp_path, 2, max_keep_ckpts=1)
    real = atomic_io._publish
    records = []

    def publish(tmp, path):
        if osp.basename(path) == 'last_checkpoint':
            if records:  # the second record (iter_2) fails
                raise OSError(28, 'No space left on device')
            records.append(path)
        real(tmp, path)

    monkeypatch.setattr(atomic_io, '_publish', publish)
    with pytest.raises(DiskFullError, match='last_checkpoint'):
        runner.train()
    # iter_2 is complete but not recorded; iter_1, which last_checkpoint
    # still names, was not pruned.
    assert _last(tmp_path) == str(tmp_path / 'iter_1.pth')
    assert osp.isfile(tmp_path / 'iter_1.pth')
    assert osp.isfile(tmp_path / 'iter_2.pth')


def test_prunes_after_saving(tmp_path):
    runner = _runner(tmp_path, 3, max_keep_ckpts=2, save_best='acc')
    runner.train()
    names = sorted(n for n in os.listdir(tmp_path) if n.endswith('.pth'))
    assert names == ['best_acc_iter_3.pth', 'iter_2.pth', 'iter_3.pth']
    assert _last(tmp_path) == str(tmp_path / 'iter_3.pth')


def test_previous_best_survives_failed_best_save(tmp_path, monkeypatch):
    runner = _runner(tmp_path, 2, save_best='acc')
    _fail_saving(monkeypatch, 'best_acc_iter_2.pth')
    with pytest.raises(DiskFullError, match='best_acc_iter_2.pth'):
        runner.train()
    # mmengine's hook removes the previous best before writing the next.
    assert osp.isfile(tmp_path / 'best_acc_iter_1.pth')


def test_validation_without_training_saves_nothing(tmp_path):
    """``runner.val()`` alone (no ``before_train``) must not fail, as with
    mmengine's hook: without ``save_best`` there is nothing to save."""
    runner = _runner(tmp_path, 1)
    metrics = runner.val()
    assert metrics['acc'] == 1.0
    assert not [f for f in os.listdir(tmp_path) if f.endswith('.pth')]
