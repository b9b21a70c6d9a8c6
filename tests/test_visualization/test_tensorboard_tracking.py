"""configs/_base_/vis_backends/tensorboard.py on a real (tiny) training:
TensorBoard gets the same scalars as the local scalars.json, and the
validation pictures of MultiTaskVisualizationHook, while the local backend
still writes its files."""
import glob
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from mmmae.datasets.synthetic_nyuv2 import generate_synthetic_nyuv2
from mmmae.utils import build_runner

event_accumulator = pytest.importorskip(
    'tensorboard.backend.event_processing.event_accumulator',
    reason='tensorboard is a test extra (requirements/tests.txt)')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs/multimae/'
                'multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py')
SNIPPET = osp.join(REPO, 'configs/_base_/vis_backends/tensorboard.py')
ITERS = 2


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp('tb')
    data = str(root / 'nyuv2_synth')
    generate_synthetic_nyuv2(data, num_train=4, num_test=2, size=(64, 64))
    leaf = root / 'leaf.py'
    leaf.write_text(f'_base_ = [{TINY!r}, {SNIPPET!r}]\n')
    cfg = Config.fromfile(str(leaf))
    cfg.work_dir = str(root / 'work')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data
        cfg[key].batch_size = 2
        cfg[key].num_workers = 0
        cfg[key].persistent_workers = False
    cfg.train_cfg.max_iters = ITERS
    cfg.train_cfg.val_interval = ITERS
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = ITERS
    cfg.default_hooks.visualization = dict(
        type='MultiTaskVisualizationHook', draw=True, interval=1)
    cfg.visualizer.name = 'tb_tracking_test'
    cfg.experiment_name = 'tb_tracking_test'
    runner = build_runner(cfg)
    runner.train()
    vis_dir = osp.join(runner.log_dir, 'vis_data')
    events = glob.glob(osp.join(vis_dir, '**', 'events.out.tfevents.*'),
                       recursive=True)
    assert len(events) == 1, events
    acc = event_accumulator.EventAccumulator(
        events[0], size_guidance={event_accumulator.IMAGES: 0,
                                  event_accumulator.SCALARS: 0})
    acc.Reload()
    with open(osp.join(vis_dir, 'scalars.json')) as f:
        local = [json.loads(line) for line in f]
    return dict(acc=acc, local=local, vis_dir=vis_dir)


def test_both_backends_are_built(trained):
    assert osp.isdir(osp.join(trained['vis_dir'], 'vis_image'))
    assert trained['local'], 'the local backend wrote no scalars'


def test_tensorboard_scalars_equal_the_local_ones(trained):
    acc, local = trained['acc'], trained['local']
    train_rows = [r for r in local if 'loss' in r]
    assert [r['step'] for r in train_rows] == list(range(1, ITERS + 1))
    keys = sorted(k for k in train_rows[0] if 'loss' in k) + ['lr']
    assert len(keys) >= 4, keys  # loss, the depth and semseg terms, lr
    for key in keys:
        events = acc.Scalars(key)
        assert [e.step for e in events] == [r['step'] for r in train_rows]
        np.testing.assert_allclose([e.value for e in events],
                                   [r[key] for r in train_rows],
                                   rtol=1e-6, err_msg=key)
    # The validation metrics (mIoU, d1, ...) at the last iteration.
    (val_row, ) = [r for r in local if 'loss' not in r]
    metrics = set(val_row) - set(train_rows[0])  # not time, data_time
    assert {'mIoU', 'aAcc', 'd1'} <= metrics
    for key in sorted(metrics):
        value = val_row[key]
        (event, ) = acc.Scalars(key)
        assert event.step == val_row['step'] == ITERS
        assert event.value == pytest.approx(value, rel=1e-6), key


def test_tensorboard_has_the_validation_pictures(trained):
    acc = trained['acc']
    local_pngs = sorted(
        osp.basename(p)
        for p in glob.glob(osp.join(trained['vis_dir'], 'vis_image', '*')))
    tags = acc.Tags()['images']
    assert tags and len(tags) == len(local_pngs)
    for tag in tags:
        assert tag.startswith('val_')
        (image, ) = acc.Images(tag)
        # The same picture the local backend stored, as a PNG of its size.
        png = osp.join(trained['vis_dir'], 'vis_image',
                       f'{tag}_{image.step}.png')
        assert osp.isfile(png), (png, local_pngs)
        import cv2
        local = cv2.imread(png)
        assert (image.height, image.width) == local.shape[:2]
        decoded = cv2.imdecode(
            np.frombuffer(image.encoded_image_string, np.uint8),
            cv2.IMREAD_COLOR)
        np.testing.assert_array_equal(decoded, local)
