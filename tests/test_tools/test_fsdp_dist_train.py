"""FSDP through FlexibleRunner beside DDP, 2 gloo processes on the CPU
(issue 17 item 6): tools/dist_train.sh runs the strategy of the ViT-L FSDP
config on the tiny pre-training config and synthetic data; both train,
their losses agree, the FSDP checkpoint is a full state dict that loads into
a single-process model, and --resume continues the FSDP run."""
import json
import os
import os.path as osp
import socket

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmmae.datasets import generate_synthetic_nyuv2
from mmmae.registry import MODELS
from mmmae.utils import load_checkpoint_file
from toy_project import REPO, run_tool

CFG_DIR = osp.join(REPO, 'configs/multimae')
TINY = osp.join(CFG_DIR,
                'multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py')
VIT_L_FSDP = osp.join(
    CFG_DIR, 'multimae_vit-l_pretrain-fsdp_8xb256-amp-1600e_in1k-224.py')
ITERS = 2

pytestmark = pytest.mark.slow  # 4 two-process runs, about 2 minutes


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _tiny_config(root, data, strategy_from=None):
    """The tiny pre-training config at batch 2, ITERS iterations, a
    checkpoint at the end, no validation; with ``strategy_from`` its
    runner_type and strategy."""
    cfg = Config.fromfile(TINY)
    if strategy_from is not None:
        cfg.runner_type = strategy_from.runner_type
        cfg.strategy = strategy_from.strategy
    loader = cfg.train_dataloader
    loader.dataset.data_root = osp.join(data, 'train')
    loader.batch_size = 2
    loader.num_workers = 0
    loader.persistent_workers = False
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=ITERS,
                         val_interval=ITERS + 1)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.custom_hooks = [dict(type='TrainableParamsHook')]
    cfg.param_scheduler = None  # lr 1e-3 throughout
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = ITERS
    name = 'fsdp' if strategy_from is not None else 'ddp'
    path = str(root / f'{name}.py')
    cfg.dump(path)
    return path


def _train(cfg, work_dir, root, *extra):
    os.environ['PORT'] = str(_free_port())
    try:
        proc = run_tool(['tools/dist_train.sh', cfg, '2', '--work-dir',
                         work_dir] + list(extra), root, timeout=600)
    finally:
        os.environ.pop('PORT')
    assert proc.returncode == 0, proc.stdout[-4000:]
    return proc.stdout


def _losses(work_dir):
    """{iteration: loss} of rank 0's scalars.json files of the work dir."""
    rows = {}
    for stamp in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, stamp, 'vis_data', 'scalars.json')
        if osp.isfile(path):
            with open(path) as f:
                for line in f:
                    row = json.loads(line)
                    if 'loss' in row:
                        rows[row['step']] = row['loss']
    return rows


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp('fsdp')
    data = str(root / 'nyuv2_synth')
    generate_synthetic_nyuv2(data, num_train=8, num_test=2, size=(64, 64))
    fsdp_cfg = _tiny_config(root, data, Config.fromfile(VIT_L_FSDP))
    ddp_cfg = _tiny_config(root, data)
    out = {}
    for name, cfg in (('fsdp', fsdp_cfg), ('ddp', ddp_cfg)):
        work_dir = str(root / name)
        log = _train(cfg, work_dir, root)
        _train(cfg, work_dir, root, '--resume', '--cfg-options',
               f'train_cfg.max_iters={ITERS + 1}')
        out[name] = dict(cfg=cfg, work_dir=work_dir, log=log,
                         losses=_losses(work_dir))
    return out


def test_fsdp_ran_sharded_through_flexible_runner(runs):
    cfg = Config.fromfile(runs['fsdp']['cfg'])
    assert cfg.runner_type == 'FlexibleRunner'
    assert cfg.strategy.type == 'FSDPStrategy'
    assert 'Iter(train) [2/2]' in runs['fsdp']['log']
    assert 'runner_type' not in Config.fromfile(runs['ddp']['cfg'])


def test_losses_are_finite_and_equal_between_ddp_and_fsdp(runs):
    ddp, fsdp = runs['ddp']['losses'], runs['fsdp']['losses']
    # Iterations 1-2, then 3 after each run resumed from its checkpoint.
    assert sorted(ddp) == sorted(fsdp) == [1, 2, ITERS + 1]
    values = [ddp[i] for i in sorted(ddp)] + [fsdp[i] for i in sorted(fsdp)]
    assert np.isfinite(values).all()
    for step in sorted(ddp):
        assert fsdp[step] == pytest.approx(ddp[step], rel=1e-5), step
    assert ddp[ITERS] < ddp[1]  # it learns


def test_fsdp_checkpoint_is_a_full_state_dict_that_loads(runs):
    fsdp = load_checkpoint_file(
        osp.join(runs['fsdp']['work_dir'], f'iter_{ITERS}.pth'))
    ddp = load_checkpoint_file(
        osp.join(runs['ddp']['work_dir'], f'iter_{ITERS}.pth'))
    state = fsdp['state_dict']
    assert not [k for k in state if 'fsdp' in k or k.startswith('module.')]
    assert {k: v.shape for k, v in state.items()} == \
        {k: v.shape for k, v in ddp['state_dict'].items()}
    # Same updates: the two strategies end at the same weights.
    for key, value in state.items():
        torch.testing.assert_close(value, ddp['state_dict'][key],
                                   rtol=1e-5, atol=1e-6, msg=key)
    # One process, no wrapper: every key fits the model built by the config.
    model = MODELS.build(Config.fromfile(runs['fsdp']['cfg']).model)
    result = model.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # AdamW state for every parameter, keyed by name (FSDP full optim).
    assert len(fsdp['optimizer']['state']) == \
        sum(1 for p in model.parameters() if p.requires_grad)
