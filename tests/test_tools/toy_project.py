"""A tiny out-of-tree plugin package and config for the tool tests.

The package registers a model, dataset, metric and hooks into mmmae's
registries and is loaded by ``custom_imports``, so the tool tests depend on
no other part of mmmae. Tests run the real ``tools/*.py`` in subprocesses.
"""
import os
import os.path as osp
import subprocess
import sys
import textwrap

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

PLUGIN = r'''
import json
import os
import os.path as osp

import torch
import torch.nn as nn
from mmengine.dist import get_rank, get_world_size
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel, is_model_wrapper
from torch.utils.data import Dataset

from mmmae.registry import DATASETS, HOOKS, METRICS, MODELS


@MODELS.register_module()
class ToyRegressor(BaseModel):
    def __init__(self, in_dims=4):
        super().__init__()
        self.fc = nn.Linear(in_dims, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        pred = self.fc(x).squeeze(-1)
        target = torch.stack(data_samples).float()
        if mode == 'loss':
            return dict(loss=((pred - target) ** 2).mean())
        return [dict(pred=p, gt=t) for p, t in zip(pred, target)]


@DATASETS.register_module()
class ToyDataset(Dataset):
    """y = x . w with a fixed w; a root that does not exist fails like a
    real dataset does."""

    def __init__(self, num=32, in_dims=4, data_root=None):
        if data_root is not None and not osp.isdir(data_root):
            raise FileNotFoundError(
                f'ToyDataset: data_root not found: {data_root}')
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(num, in_dims, generator=gen)
        self.y = self.x @ torch.arange(1., in_dims + 1)
        self.metainfo = dict(classes=('toy', ))

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], data_samples=self.y[i])


@METRICS.register_module()
class ToyMetric(BaseMetric):
    """MSE; with output_dir (tools/test.py --out) it also writes the
    predictions there."""

    def __init__(self, output_dir=None, **kwargs):
        super().__init__(**kwargs)
        self.output_dir = output_dir

    def process(self, data_batch, data_samples):
        for d in data_samples:
            self.results.append(float((d['pred'] - d['gt']) ** 2))
            if self.output_dir:
                os.makedirs(self.output_dir, exist_ok=True)
                with open(osp.join(self.output_dir, 'preds.txt'), 'a') as f:
                    f.write(f"{float(d['pred'])}\n")

    def compute_metrics(self, results):
        return dict(mse=sum(results) / len(results))


@HOOKS.register_module()
class DumpParamsHook(Hook):
    """Saves each rank's parameters and the iterations it ran."""
    priority = 'LOWEST'

    def before_run(self, runner):
        self.iters = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.iters.append(runner.iter)

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        rank = get_rank()
        torch.save({k: v.detach().cpu() for k, v in
                    model.state_dict().items()},
                   osp.join(runner.work_dir, f'params_rank{rank}.pth'))
        with open(osp.join(runner.work_dir, f'iters_rank{rank}.json'),
                  'w') as f:
            json.dump(dict(iters=self.iters, world_size=get_world_size()), f)


@HOOKS.register_module()
class CrashAtIterHook(Hook):
    """Kills the process after iteration ``at`` (1-based) has been
    checkpointed, like a job that is pre-empted."""
    priority = 'LOWEST'

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            os._exit(3)


@HOOKS.register_module()
class ToyVisHook(Hook):
    """Stands in for MultiTaskVisualizationHook: writes one file per test
    batch into show_dir when draw is on."""

    def __init__(self, draw=False, show_dir=None, show=False, wait_time=0.):
        self.draw = draw
        self.show_dir = show_dir

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None):
        if self.draw and self.show_dir:
            os.makedirs(self.show_dir, exist_ok=True)
            open(osp.join(self.show_dir, f'{batch_idx}.txt'), 'w').close()
'''

CONFIG = '''
_base_ = ['{repo}/configs/_base_/default_runtime.py',
          '{repo}/configs/_base_/default_hooks.py']
custom_imports = dict(imports=['toy_plugin'], allow_failed_imports=False)
model = dict(type='ToyRegressor')
_data = dict(type='ToyDataset', num=32)
train_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True), dataset=_data)
val_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False), dataset=_data)
test_dataloader = val_dataloader
val_evaluator = dict(type='ToyMetric')
test_evaluator = val_evaluator
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02))
train_cfg = dict(type='IterBasedTrainLoop', max_iters=6, val_interval=3)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, max_keep_ckpts=10),
    visualization=dict(type='ToyVisHook', draw=False, _delete_=True))
visualizer = dict(
    type='Visualizer', vis_backends=[dict(type='LocalVisBackend')],
    name='visualizer', _delete_=True)
custom_hooks = [dict(type='DumpParamsHook')]
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
'''


def write_toy_project(root):
    """Write ``toy_plugin/`` and ``toy_cfg.py`` under ``root``; return the
    config path."""
    pkg = osp.join(str(root), 'toy_plugin')
    os.makedirs(pkg, exist_ok=True)
    with open(osp.join(pkg, '__init__.py'), 'w') as f:
        f.write(textwrap.dedent(PLUGIN))
    cfg = osp.join(str(root), 'toy_cfg.py')
    with open(cfg, 'w') as f:
        f.write(CONFIG.format(repo=REPO))
    return cfg


def tool_env(root):
    """Environment for a tool subprocess: the plugin importable, one thread
    per process (two cores are shared), the venv's python first on PATH."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (str(root), REPO, env.get('PYTHONPATH')) if p)
    env['OMP_NUM_THREADS'] = '1'
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    env.pop('MMMAE_TRUSTED_CHECKPOINTS', None)
    return env


def run_tool(args, root, timeout=300):
    """Run ``args`` (a list; ``.py`` tools through this python) in the repo
    root; return the CompletedProcess with stdout+stderr in ``.stdout``."""
    if args[0].endswith('.py'):
        args = [sys.executable] + list(args)
    elif args[0].endswith('.sh'):
        args = ['bash'] + list(args)
    return subprocess.run(
        args,
        cwd=REPO,
        env=tool_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
