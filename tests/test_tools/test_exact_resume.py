"""Exact resume on the README's main config: train N iterations at once, or
k then ``resume`` to N, in one work dir; the final parameters are
bit-identical (issue 12, item 4).

The config keeps every source of randomness of the real one (prompt
dropout, random resize / crop / flip in the train pipeline, dataloader
workers, a validation between the checkpoint and the next iteration) on a
narrower backbone and 2-image batches, so a run takes seconds.
"""
import itertools
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmmae.datasets.synthetic_nyuv2 import generate_synthetic_nyuv2
from mmmae.utils import build_runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO, 'configs/prompt/'
    'mtprompt_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py')
TOTAL, FIRST = 4, 2  # iterations: all, and before the interruption
_names = itertools.count()


@pytest.fixture(scope='module')
def synth_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synth') / 'nyuv2_synth')
    generate_synthetic_nyuv2(root, num_train=6, num_test=2, seed=0)
    return root


def tiny_config(work_dir, data_root, num_workers, max_iters, resume=False):
    """The main config, narrowed; checkpoint and validation every FIRST
    iterations; the lr schedule of the full TOTAL-iteration run."""
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = work_dir
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = data_root
        cfg[key].batch_size = 2
        cfg[key].num_workers = num_workers
        cfg[key].persistent_workers = num_workers > 0
        cfg[key].dataset.serialize_data = False  # skips a gc.collect()
    cfg.model.backbone.arch.embed_dims = 32
    cfg.model.backbone.arch.num_heads = 2
    cfg.model.decode_heads.depth.embed_dims = 32
    cfg.model.decode_heads.semseg.in_channels = 32
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = FIRST
    cfg.default_hooks.checkpoint.interval = FIRST
    cfg.default_hooks.logger.interval = 1
    cfg.resume = resume
    # Unique logger / visualizer instances per runner in this process.
    name = f'exact_resume_{next(_names)}'
    cfg.experiment_name = name
    cfg.visualizer.name = name
    return cfg


def train(cfg):
    runner = build_runner(cfg)
    runner.train()
    return {k: v.detach().clone() for k, v in runner.model.state_dict().items()}


# num_workers=2 spawns 3 x 2 worker processes (about a minute on two
# shared cores); the worker streams have a fast test in
# tests/test_engine/test_hooks/test_rng_state_hook.py.
@pytest.mark.parametrize(
    'num_workers', [0, pytest.param(2, marks=pytest.mark.slow)])
def test_resumed_run_is_bit_identical(num_workers, synth_root, tmp_path):
    reference = train(
        tiny_config(str(tmp_path / 'full'), synth_root, num_workers, TOTAL))

    work_dir = str(tmp_path / 'interrupted')
    train(tiny_config(work_dir, synth_root, num_workers, FIRST))
    assert osp.isfile(osp.join(work_dir, f'iter_{FIRST}.pth'))
    resumed = train(
        tiny_config(work_dir, synth_root, num_workers, TOTAL, resume=True))

    assert resumed.keys() == reference.keys()
    differ = [k for k in reference if not torch.equal(resumed[k],
                                                      reference[k])]
    assert not differ, f'{len(differ)} tensors differ, e.g. {differ[:3]}'
    # What the interrupted run saved: the RNG states, and the workers' too.
    first = torch.load(
        osp.join(work_dir, f'iter_{FIRST}.pth'), weights_only=False)
    assert 'rng_state' in first
    saved = first['rng_state']['workers']
    assert (saved is None) == (num_workers == 0)
