"""tools/train.py --auto-scale-lr: mmengine scales the lr from the config's
auto_scale_lr.base_batch_size to the real total batch."""
import glob
import json
import os.path as osp

from toy_project import run_tool, write_toy_project


def _lr_of_first_iter(work_dir):
    [scalars] = glob.glob(osp.join(work_dir, '*', 'vis_data',
                                   'scalars.json'))
    with open(scalars) as f:
        return json.loads(f.readline())['lr']


def test_auto_scale_lr_scales_by_total_batch(tmp_path):
    cfg = write_toy_project(tmp_path)
    common = ['tools/train.py', cfg, '--cfg-options',
              'train_cfg.max_iters=1', 'default_hooks.logger.interval=1',
              'auto_scale_lr.base_batch_size=2']
    # The toy trains batch 4 with SGD lr 0.02: base 2 doubles it.
    plain = run_tool(common + ['--work-dir', str(tmp_path / 'plain')],
                     tmp_path)
    assert plain.returncode == 0, plain.stdout
    scaled = run_tool(
        common + ['--work-dir', str(tmp_path / 'scaled'), '--auto-scale-lr'],
        tmp_path)
    assert scaled.returncode == 0, scaled.stdout
    assert abs(_lr_of_first_iter(tmp_path / 'plain') - 0.02) < 1e-9
    assert abs(_lr_of_first_iter(tmp_path / 'scaled') - 0.04) < 1e-9


def test_auto_scale_lr_without_base_batch_is_named(tmp_path):
    cfg = write_toy_project(tmp_path)
    out = run_tool(['tools/train.py', cfg, '--auto-scale-lr',
                    '--work-dir', str(tmp_path / 'w')], tmp_path)
    assert out.returncode != 0
    assert f'--auto-scale-lr: {cfg} has no auto_scale_lr = ' \
        'dict(base_batch_size=N)' in out.stdout
    assert not osp.exists(tmp_path / 'w' / 'iter_1.pth')
