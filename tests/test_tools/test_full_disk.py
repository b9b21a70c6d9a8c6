"""A full disk during a checkpoint save, in a real tools/train.py run: the
error names the file and says the disk is full; the previous checkpoint and
last_checkpoint stay intact, and --resume continues from them."""
import os
import os.path as osp
import textwrap

import pytest

from mmmae.utils.resume import checkpoint_problem
from toy_project import run_tool, write_toy_project

# Loaded by custom_imports. From iteration `at` on, every file opened for
# writing directly in the work dir (checkpoints, their temporary files,
# last_checkpoint) fails on write() with ENOSPC, as on a full disk. Both
# ways of opening are covered: open() (mmengine) and os.fdopen (mkstemp
# users such as atomic_io), so no write path escapes the simulation.
PLUGIN = '''
import builtins
import errno
import os
import os.path as osp

from mmengine.hooks import Hook

from mmmae.registry import HOOKS


class _FullDiskFile:

    def __init__(self, f):
        self._f = f

    def write(self, data):
        raise OSError(errno.ENOSPC, 'No space left on device')

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._f.__exit__(*exc)

    def __getattr__(self, name):
        return getattr(self._f, name)


@HOOKS.register_module()
class DiskFullFromIterHook(Hook):
    priority = 'HIGHEST'  # before CheckpointHook's save of this iteration

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 != self.at:
            return
        work_dir = osp.realpath(runner.work_dir)
        real_open, real_fdopen = builtins.open, os.fdopen

        def full(path):
            return osp.dirname(osp.realpath(path)) == work_dir

        def open_(file, mode='r', *args, **kwargs):
            f = real_open(file, mode, *args, **kwargs)
            if isinstance(file, (str, os.PathLike)) and \\
                    set(mode) & set('wax+') and full(file):
                return _FullDiskFile(f)
            return f

        def fdopen(fd, mode='r', *args, **kwargs):
            f = real_fdopen(fd, mode, *args, **kwargs)
            if set(mode) & set('wax+') and full(os.readlink(
                    f'/proc/self/fd/{fd}')):
                return _FullDiskFile(f)
            return f

        builtins.open, os.fdopen = open_, fdopen
'''


@pytest.fixture(scope='module')
def full_disk_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy_full_disk')
    cfg = write_toy_project(root)
    with open(root / 'full_disk_plugin.py', 'w') as f:
        f.write(textwrap.dedent(PLUGIN))
    # max_keep_ckpts=1: saving iter_4 must not cost iter_2.
    full_cfg = str(root / 'full_cfg.py')
    with open(full_cfg, 'w') as f:
        f.write("_base_ = ['toy_cfg.py']\n"
                "custom_imports = dict(imports=['toy_plugin', "
                "'full_disk_plugin'], allow_failed_imports=False)\n"
                "default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))\n"
                "custom_hooks = [dict(type='DumpParamsHook'),\n"
                "                dict(type='DiskFullFromIterHook', at=4)]\n")
    work_dir = str(root / 'work')
    proc = run_tool(['tools/train.py', full_cfg, '--work-dir', work_dir],
                    root)
    files = sorted(os.listdir(work_dir))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        record = f.read()
    return dict(root=root, cfg=cfg, work_dir=work_dir, proc=proc,
                files=files, record=record)


def test_full_disk_names_file_and_keeps_previous(full_disk_run):
    run, work_dir = full_disk_run, full_disk_run['work_dir']
    proc = run['proc']
    assert proc.returncode == 1, proc.stdout[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    target = osp.join(work_dir, 'iter_4.pth')
    assert last.startswith('DiskFullError: '), last
    assert f'disk full while writing {target}: no space left' in last
    assert last.endswith(osp.join(work_dir, 'last_checkpoint') +
                         ' still names ' + osp.join(work_dir, 'iter_2.pth'))
    assert 'unexpected pos' not in proc.stdout
    # The previous checkpoint and its record are intact; no temporary or
    # partial file is left behind.
    assert 'iter_2.pth' in run['files'] and 'iter_4.pth' not in run['files']
    assert not [n for n in run['files'] if n.endswith('.tmp')], run['files']
    assert checkpoint_problem(osp.join(work_dir, 'iter_2.pth')) is None
    assert run['record'] == osp.join(work_dir, 'iter_2.pth')


def test_resume_after_full_disk(full_disk_run):
    run = full_disk_run
    proc = run_tool([
        'tools/train.py', run['cfg'], '--work-dir', run['work_dir'],
        '--resume'
    ], run['root'])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'resuming from ' + osp.join(run['work_dir'], 'iter_2.pth') + \
        ' (named by last_checkpoint)' in proc.stdout
    assert 'resumed epoch: 0, iter: 2' in proc.stdout
    assert osp.isfile(osp.join(run['work_dir'], 'iter_6.pth'))
