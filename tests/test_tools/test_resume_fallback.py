"""tools/train.py --resume from a damaged work dir: an empty, dangling or
truncated last_checkpoint resumes from the newest complete checkpoint."""
import json
import os
import os.path as osp
import shutil

import pytest
import torch

from toy_project import run_tool, write_toy_project


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """One uninterrupted 6-iteration run: iter_2, iter_4, iter_6."""
    root = tmp_path_factory.mktemp('toy_fallback')
    cfg = write_toy_project(root)
    work_dir = str(root / 'ref')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work_dir], root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    return dict(root=root, cfg=cfg, work_dir=work_dir)


def _damaged_copy(trained, name, damage):
    """Copy of the finished work dir, with ``damage(work_dir)`` applied."""
    work_dir = str(trained['root'] / name)
    shutil.copytree(trained['work_dir'], work_dir)
    for f in ('params_rank0.pth', 'iters_rank0.json'):
        os.remove(osp.join(work_dir, f))
    damage(work_dir)
    return work_dir


def _truncate(path):
    with open(path, 'r+b') as f:
        f.truncate(osp.getsize(path) // 2)


def _record(work_dir, text):
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(text)


def _resume(trained, work_dir):
    proc = run_tool([
        'tools/train.py', trained['cfg'], '--work-dir', work_dir, '--resume'
    ], trained['root'])
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(osp.join(work_dir, 'iters_rank0.json')) as f:
        return proc.stdout, json.load(f)['iters']


def _params(work_dir):
    return torch.load(osp.join(work_dir, 'params_rank0.pth'))


def test_empty_last_checkpoint(trained):
    work_dir = _damaged_copy(trained, 'empty', lambda d: _record(d, ''))
    log, iters = _resume(trained, work_dir)
    assert 'last_checkpoint is empty; resuming from ' + osp.join(
        work_dir, 'iter_6.pth') in log
    assert 'resumed epoch: 0, iter: 6' in log
    assert iters == []  # iter_6 was the end of the schedule


@pytest.mark.slow  # the same path as the truncated case
def test_dangling_last_checkpoint(trained):

    def damage(d):
        os.remove(osp.join(d, 'iter_6.pth'))
        _record(d, osp.join(d, 'iter_6.pth'))

    work_dir = _damaged_copy(trained, 'dangling', damage)
    log, iters = _resume(trained, work_dir)
    assert 'iter_6.pth, but the file does not exist; resuming from ' + \
        osp.join(work_dir, 'iter_4.pth') in log
    assert 'resumed epoch: 0, iter: 4' in log
    assert iters == [4, 5]
    assert osp.isfile(osp.join(work_dir, 'iter_6.pth'))


def test_truncated_last_checkpoint(trained):

    def damage(d):
        _truncate(osp.join(d, 'iter_6.pth'))
        _truncate(osp.join(d, 'iter_4.pth'))
        _record(d, osp.join(d, 'iter_6.pth'))

    work_dir = _damaged_copy(trained, 'truncated', damage)
    log, iters = _resume(trained, work_dir)
    assert 'iter_6.pth, but it is truncated' in log
    assert 'resuming from ' + osp.join(work_dir, 'iter_2.pth') in log
    assert 'skipped ' + osp.join(work_dir, 'iter_4.pth') in log
    assert 'resumed epoch: 0, iter: 2' in log
    assert iters == [2, 3, 4, 5]
    # The whole state came back: the run ends where the uninterrupted one
    # ended.
    resumed, reference = _params(work_dir), _params(trained['work_dir'])
    for key in reference:
        assert torch.equal(resumed[key], reference[key]), key
