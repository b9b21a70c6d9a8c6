"""Kill ``tools/train.py`` with SIGKILL at chosen instants, ``--resume``, and
end with the parameters of an uninterrupted run, bit for bit; no earlier
checkpoint is lost or damaged (issue 12, items 2-5).

The kill points are deterministic: a test-only plugin (written below into
the test's folder and loaded by ``custom_imports``) signals through a file
and then waits forever

- inside a checkpoint save, after the temporary file is complete and
  before the rename (it wraps ``mmmae.utils.atomic_io._publish``);
- at the start of a chosen iteration.

Run with ``pytest -m slow tests/test_tools/test_kill_resume.py``.
"""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from mmmae.datasets.synthetic_nyuv2 import generate_synthetic_nyuv2
from mmmae.utils.atomic_io import atomic_write_text

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO, 'configs/prompt/'
    'mtprompt_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py')
TOTAL, INTERVAL = 6, 2

PLUGIN = r'''
"""Kill points for tests/test_tools/test_kill_resume.py (test-only)."""
import os
import os.path as osp
import time

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmmae.registry import HOOKS
from mmmae.utils import atomic_io

_publish = atomic_io._publish


def _signal_and_wait():
    atomic_io.atomic_write_text(os.environ['KILLTEST_READY'], 'ready')
    while True:
        time.sleep(1)


def _publish_or_pause(tmp, path):
    # The temporary file is complete and fsynced; the rename is next.
    if osp.basename(path) == os.environ.get('KILLTEST_PAUSE_FILE'):
        _signal_and_wait()
    _publish(tmp, path)


atomic_io._publish = _publish_or_pause


@HOOKS.register_module()
class KillPointHook(Hook):
    """Pauses before iteration KILLTEST_PAUSE_ITER (0-based); saves the
    final parameters."""
    priority = 'LOWEST'

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if str(runner.iter) == os.environ.get('KILLTEST_PAUSE_ITER'):
            _signal_and_wait()

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        atomic_io.atomic_torch_save(
            {k: v.detach().cpu() for k, v in model.state_dict().items()},
            osp.join(runner.work_dir, 'final_params.pth'))
'''

LEAF = '''
_base_ = [{config!r}]
custom_imports = dict(imports=['killtest_plugin'], allow_failed_imports=False)
model = dict(
    backbone=dict(arch=dict(embed_dims=32, num_heads=2)),
    decode_heads=dict(depth=dict(embed_dims=32),
                      semseg=dict(in_channels=32)))
_data = dict(data_root={root!r}, serialize_data=False)
train_dataloader = dict(batch_size=2, dataset=_data)
val_dataloader = dict(batch_size=2, dataset=_data)
test_dataloader = val_dataloader
train_cfg = dict(max_iters={total}, val_interval={interval})
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval={interval}, max_keep_ckpts=10),
    kill_point=dict(type='KillPointHook'))
'''


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp('kill_resume')
    data = str(root / 'nyuv2_synth')
    generate_synthetic_nyuv2(data, num_train=6, num_test=2, seed=0)
    atomic_write_text(str(root / 'killtest_plugin.py'), PLUGIN)
    cfg = str(root / 'kill_cfg.py')
    atomic_write_text(
        cfg,
        LEAF.format(config=CONFIG, root=data, total=TOTAL,
                    interval=INTERVAL))
    return root, cfg


def _env(root, **pause):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (str(root), REPO, env.get('PYTHONPATH')) if p)
    env['OMP_NUM_THREADS'] = '1'
    env.pop('MMMAE_TRUSTED_CHECKPOINTS', None)
    for key in ('KILLTEST_PAUSE_FILE', 'KILLTEST_PAUSE_ITER'):
        env.pop(key, None)
    env.update({f'KILLTEST_{k.upper()}': str(v) for k, v in pause.items()})
    return env


def _train(root, cfg, work_dir, resume=False, timeout=600, **pause):
    """Run tools/train.py; with a pause point, SIGKILL it (and its
    dataloader workers) as soon as it signals. Returns (killed, log)."""
    ready = osp.join(str(root), 'ready')
    if osp.exists(ready):
        os.unlink(ready)
    log_path = osp.join(str(root), f'train_{time.monotonic_ns()}.log')
    args = [sys.executable, 'tools/train.py', cfg, '--work-dir', work_dir]
    if resume:
        args.append('--resume')
    env = _env(root, ready=ready, **pause)
    with open(log_path, 'wb') as log:
        proc = subprocess.Popen(
            args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + timeout
        killed = False
        while proc.poll() is None and time.monotonic() < deadline:
            if pause and osp.exists(ready):
                os.killpg(proc.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.2)
        if proc.poll() is None and not killed:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    with open(log_path) as f:
        text = f.read()
    if pause:
        assert killed, (f'the run never reached the pause point {pause} '
                        f'(rc {proc.returncode}):\n{text[-3000:]}')
    else:
        assert proc.returncode == 0, text[-3000:]
    return killed, text


def _last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return osp.basename(f.read().strip())


def _state_dict(path):
    return torch.load(path, map_location='cpu', weights_only=False)[
        'state_dict']


def _assert_equal(got, want, what):
    assert got.keys() == want.keys(), what
    differ = [k for k in want if not torch.equal(got[k], want[k])]
    assert not differ, f'{what}: {len(differ)} tensors differ: {differ[:3]}'


@pytest.mark.slow
def test_killed_and_resumed_run_matches_uninterrupted(project):
    root, cfg = project
    ref_dir = str(root / 'reference')
    _train(root, cfg, ref_dir)
    work_dir = str(root / 'killed')

    # 1. Killed inside the save of iter_4.pth, between the complete
    #    temporary file and the rename: iter_2 stays the last checkpoint.
    _train(root, cfg, work_dir, pause_file='iter_4.pth')
    assert not osp.exists(osp.join(work_dir, 'iter_4.pth'))
    assert glob.glob(osp.join(work_dir, '.iter_4.pth.*.tmp'))
    assert _last_checkpoint(work_dir) == 'iter_2.pth'

    # 2. Resumed, then killed at the start of iteration 5 (0-based), after
    #    iter_4.pth was saved.
    _, log = _train(root, cfg, work_dir, resume=True, pause_iter=5)
    assert 'resumed epoch: 0, iter: 2' in log
    assert 'RngStateHook: restored' in log
    assert _last_checkpoint(work_dir) == 'iter_4.pth'

    # 3. Resumed, then killed while last_checkpoint is rewritten after the
    #    final iter_6.pth save.
    _, log = _train(
        root, cfg, work_dir, resume=True, pause_file='last_checkpoint')
    assert 'resumed epoch: 0, iter: 4' in log
    assert _last_checkpoint(work_dir) == 'iter_4.pth'

    # 4. Resumed to the end.
    _train(root, cfg, work_dir, resume=True)
    _assert_equal(
        torch.load(osp.join(work_dir, 'final_params.pth')),
        torch.load(osp.join(ref_dir, 'final_params.pth')),
        'final parameters')

    # Every checkpoint is whole, equals the uninterrupted run's, and tests.
    for it in range(INTERVAL, TOTAL + 1, INTERVAL):
        name = f'iter_{it}.pth'
        _assert_equal(
            _state_dict(osp.join(work_dir, name)),
            _state_dict(osp.join(ref_dir, name)), name)
        proc = subprocess.run(
            [
                sys.executable, 'tools/test.py', cfg,
                osp.join(work_dir, name), '--work-dir',
                str(root / f'test_{it}')
            ],
            cwd=REPO,
            env=_env(root),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=600)
        assert proc.returncode == 0, f'{name}:\n{proc.stdout[-3000:]}'
        assert 'mIoU' in proc.stdout, proc.stdout[-2000:]
