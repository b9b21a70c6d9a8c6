"""tools/test.py --tta end to end: the printed metrics come from the
original and the flipped view merged (issue 15 item 6)."""
import os.path as osp

import pytest

from mmmae.datasets import generate_synthetic_nyuv2
from toy_project import REPO, run_tool

LEAF = osp.join(REPO, 'configs', 'multimae',
                'multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py')


def _metrics(stdout):
    """The final table printed by tools/test.py."""
    rows = {}
    for line in stdout.splitlines():
        parts = [p.strip() for p in line.split('|')]
        if len(parts) == 2:
            try:
                rows[parts[0]] = float(parts[1])
            except ValueError:
                pass
    return rows


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('tta')
    data = str(root / 'nyuv2_synth')
    generate_synthetic_nyuv2(data, num_train=2, num_test=4)
    # The tiny leaf tests at 64 px high; here the base's whole-image test
    # pipeline (96 x 128, a multiple of 16, so no padding) keeps the flip
    # of the image and of the padded batch the same thing.
    cfg = root / 'tta_cfg.py'
    cfg.write_text(
        f"_base_ = [{LEAF!r}]\n"
        "test_pipeline = [dict(type='LoadMultiModalFromFile'),\n"
        "                 dict(type='PackMultiModalInputs')]\n"
        "test_dataloader = dict(batch_size=2, num_workers=0,\n"
        "    persistent_workers=False,\n"
        f"    dataset=dict(data_root={data!r}, pipeline=test_pipeline))\n"
        "test_evaluator = [dict(type='mmseg.IoUMetric', iou_metrics=['mIoU']),"
        "\n    dict(type='mmseg.DepthMetric', min_depth_eval=1e-3, "
        "max_depth_eval=10.0)]\n")
    ckpt = str(root / 'init.pth')
    proc = run_tool(['tools/analysis_tools/save_init_checkpoint.py',
                     str(cfg), ckpt], root)
    assert proc.returncode == 0, proc.stdout[-3000:]

    def test(*extra):
        proc = run_tool(['tools/test.py', str(cfg), ckpt, '--work-dir',
                         str(root / 'work')] + list(extra), root)
        assert proc.returncode == 0, proc.stdout[-3000:]
        return _metrics(proc.stdout), proc.stdout

    return test


@pytest.mark.slow
def test_tta_metrics_are_the_flip_merged_predictions(setup):
    plain, _ = setup()
    tta, _ = setup('--tta')
    own_flip, _ = setup('--cfg-options', 'model.test_cfg.flip=True')
    print('plain', plain, '\ntta', tta, '\nflip', own_flip)
    for key in ('mIoU', 'rmse', 'abs_rel', 'd1'):
        assert key in tta, (key, tta)
    # Depth, averaged in metres, equals the segmentor's own flip averaging.
    for key in ('rmse', 'abs_rel', 'log10', 'd1'):
        assert tta[key] == pytest.approx(own_flip[key], abs=2e-4), key
    # ... and differs from the single-view result.
    assert tta['rmse'] != plain['rmse']


def test_tta_without_config_entries_names_them(tmp_path):
    cfg = tmp_path / 'no_tta.py'
    cfg.write_text(f"_base_ = [{LEAF!r}]\n"
                   "tta_model = None\n")
    ckpt = tmp_path / 'any.pth'
    ckpt.write_bytes(b'')
    proc = run_tool(['tools/test.py', str(cfg), str(ckpt), '--tta'],
                    tmp_path)
    assert proc.returncode != 0
    assert f'--tta needs tta_model and tta_pipeline in the config {cfg}' \
        in proc.stdout
