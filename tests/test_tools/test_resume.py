"""--resume after a crash continues from the saved iteration and ends where
an uninterrupted run ends."""
import json
import os.path as osp

import pytest
import torch

from mmmae.utils.checkpoint import load_checkpoint_file
from toy_project import run_tool, write_toy_project


def _iters(work_dir):
    with open(osp.join(work_dir, 'iters_rank0.json')) as f:
        return json.load(f)['iters']


@pytest.fixture(scope='module')
def crashed_and_resumed(tmp_path_factory):
    """Train, get killed after iteration 5 (last checkpoint: 4), resume."""
    root = tmp_path_factory.mktemp('toy_resume')
    cfg = write_toy_project(root)
    crash_cfg = str(root / 'crash_cfg.py')
    with open(crash_cfg, 'w') as f:
        f.write("_base_ = ['toy_cfg.py']\n"
                "custom_hooks = [dict(type='DumpParamsHook'),\n"
                "                dict(type='CrashAtIterHook', at=5)]\n")
    work_dir = str(root / 'work')
    crash = run_tool(['tools/train.py', crash_cfg, '--work-dir', work_dir],
                     root)
    found = dict(
        iter_4=osp.isfile(osp.join(work_dir, 'iter_4.pth')),
        iter_6=osp.isfile(osp.join(work_dir, 'iter_6.pth')))
    resume = run_tool(
        ['tools/train.py', cfg, '--work-dir', work_dir, '--resume'], root)
    return dict(root=root, cfg=cfg, work_dir=work_dir, crash=crash,
                found_after_crash=found, resume=resume)


def test_resume_continues_from_saved_iteration(crashed_and_resumed):
    run = crashed_and_resumed
    assert run['crash'].returncode == 3, run['crash'].stdout[-3000:]
    assert run['found_after_crash'] == dict(iter_4=True, iter_6=False)
    assert run['resume'].returncode == 0, run['resume'].stdout[-3000:]
    assert 'resumed epoch: 0, iter: 4' in run['resume'].stdout
    assert _iters(run['work_dir']) == [4, 5]
    assert osp.isfile(osp.join(run['work_dir'], 'iter_6.pth'))


@pytest.mark.slow
def test_resume_matches_uninterrupted_run(crashed_and_resumed):
    run, root = crashed_and_resumed, crashed_and_resumed['root']
    resumed = torch.load(osp.join(run['work_dir'], 'params_rank0.pth'))
    # Same seed and data order: exactly the weights of one uninterrupted run.
    ref_dir = str(root / 'ref')
    proc = run_tool(['tools/train.py', run['cfg'], '--work-dir', ref_dir],
                    root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    reference = torch.load(osp.join(ref_dir, 'params_rank0.pth'))
    for key in reference:
        assert torch.equal(resumed[key], reference[key]), key

    # An explicit checkpoint path resumes from its own iteration.
    proc = run_tool([
        'tools/train.py', run['cfg'], '--work-dir', ref_dir, '--resume',
        osp.join(ref_dir, 'iter_2.pth')
    ], root)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'resumed epoch: 0, iter: 2' in proc.stdout
    assert _iters(ref_dir) == [2, 3, 4, 5]


def test_checkpoints_hold_rng_states_that_resume_restores(
        crashed_and_resumed):
    run = crashed_and_resumed
    # The safe (weights_only) loader reads them: tensors and numbers only.
    ckpt = load_checkpoint_file(osp.join(run['work_dir'], 'iter_4.pth'))
    assert {'python', 'numpy', 'torch'} <= set(ckpt['rng_state']['main'])
    assert ckpt['rng_state']['workers'] is None  # num_workers=0
    assert ('RngStateHook: restored the python, numpy and torch RNG states '
            'of iteration 4') in run['resume'].stdout
