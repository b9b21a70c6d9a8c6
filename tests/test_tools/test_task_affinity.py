"""tools/analysis_tools/task_affinity.py and the tiny MmAP-MT recipe."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from mmmae.datasets.multi_domain import make_toy_multidomain
from mmmae.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'configs', 'mmap',
                'mmap-mt_clip-tiny_l2d2_1xb16-300i_toy-multidomain-32.py')
TASKS = ['Art', 'Clipart', 'Product', 'Real_World']


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis_tools/task_affinity.py')


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('toy') / 'toy_multidomain')
    make_toy_multidomain(root, TASKS, num_classes=4, images_per_class=16,
                         size=32)
    return root


def _data_options(root):
    return {f'{k}.dataset.data_root': root for k in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')}


def test_affinity_file_and_picture(toy_root, tmp_path, tool):
    out = str(tmp_path / 'aff' / 'toy.json')
    result = tool.run(TINY, 3, out, cfg_options=_data_options(toy_root),
                      device='cpu')
    with open(out) as f:
        saved = json.load(f)
    assert saved['tasks'] == TASKS and saved['warmup_iters'] == 3
    a = np.array(saved['affinity'])
    assert a.shape == (4, 4)
    assert np.allclose(a, a.T) and np.allclose(np.diag(a), 1., atol=1e-5)
    assert (np.abs(a) <= 1 + 1e-6).all()
    # the mixing sampler puts every pair of tasks in every batch
    assert (np.array(saved['pair_counts']) == 3).all()
    members = sorted(t for ts in saved['groups'].values() for t in ts)
    assert members == sorted(TASKS)
    assert saved['groups'] == dict(result['groups'])
    assert osp.getsize(str(tmp_path / 'aff' / 'toy.png')) > 0
    # the config's prompt consumes the file
    cfg = Config.fromfile(TINY)
    cfg.model.prompt.grouping_file = out
    model = MODELS.build(cfg.model)
    assert len(model.prompt.units) == len(saved['groups']) + 4


def test_lookahead_affinity_option(toy_root, tmp_path, tool):
    """--affinity lookahead: TAG's Z_ij from the same warm-up; one entry
    recomputed by hand from the tool's own model and batch."""
    out = str(tmp_path / 'tag.json')
    result = tool.run(TINY, 2, out, cfg_options=_data_options(toy_root),
                      device='cpu', affinity='lookahead',
                      lookahead_lr=1e-3)
    with open(out) as f:
        saved = json.load(f)
    assert saved['affinity_type'] == 'lookahead'
    assert saved['lookahead_lr'] == 1e-3
    assert 'Fifty et al.' in saved['formula']
    z = np.array(saved['affinity'])
    assert z.shape == (4, 4) and np.isfinite(z).all()
    # not a cosine: no unit diagonal, and not forced symmetric
    assert not np.allclose(np.diag(z), 1.)
    # a small step on a task's own loss lowers it on the same batch
    assert (np.diag(z) > 0).all()
    assert (np.array(saved['pair_counts']) == 2).all()
    assert saved['groups'] == dict(result['groups'])
    assert osp.getsize(str(tmp_path / 'tag.png')) > 0


def test_lookahead_matches_a_hand_computation(toy_root, tool):
    """One warm-up step: Z_ij equals 1 - L_j(theta - lr g_i) / L_j(theta)
    computed here directly on the first batch."""
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict(_data_options(toy_root))
    got = tool.measure_task_affinity(cfg, 1, 'cpu', seed=0,
                                     affinity='lookahead', lookahead_lr=0.5)
    # the same model, batch and gradients, by hand
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed
    init_default_scope('mmmae')
    set_random_seed(0)
    model = MODELS.build(tool.shared_prompt_cfg(cfg.model))
    model.init_weights()
    model.train()
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    data = model.data_preprocessor(next(iter(loader)), True)
    shared = model.prompt.shared_parameters()
    losses = model.task_losses(data['inputs'], data['data_samples'])
    want = np.zeros((4, 4))
    for a, ti in enumerate(got['tasks']):
        g = torch.autograd.grad(losses[ti], shared, retain_graph=True,
                                allow_unused=True)
        with torch.no_grad():
            saved = [p.clone() for p in shared]
            for p, gi in zip(shared, g):
                if gi is not None:
                    p.sub_(0.5 * gi)
            after = model.task_losses(data['inputs'], data['data_samples'])
            for p, s in zip(shared, saved):
                p.copy_(s)
        for b, tj in enumerate(got['tasks']):
            want[a, b] = 1 - float(after[tj]) / float(losses[tj].detach())
    assert np.allclose(got['affinity'], want, rtol=1e-4, atol=1e-6)


def test_committed_toy_grouping_builds_the_tiny_config():
    """The tiny config's grouping file is the tool's output and fits it."""
    from mmmae.engine.task_grouping import group_tasks
    cfg = Config.fromfile(TINY)
    path = osp.join(ROOT, cfg.model.prompt.grouping_file)
    with open(path) as f:
        saved = json.load(f)
    assert saved['tasks'] == TASKS
    # the saved groups are what the grouping makes of the saved affinity
    assert dict(group_tasks(saved['affinity'], saved['tasks'])) == \
        saved['groups']
    cfg.model.prompt.grouping_file = path
    model = MODELS.build(cfg.model)
    assert len(model.prompt.units) == len(saved['groups']) + len(TASKS)


@pytest.mark.slow
def test_tiny_mmap_mt_learns_above_chance(toy_root, tmp_path, tool):
    """Warm-up grouping, then the tiny config's 300 steps (about 30 s)."""
    out = str(tmp_path / 'toy.json')
    tool.run(TINY, 20, out, cfg_options=_data_options(toy_root),
             device='cpu')
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict(_data_options(toy_root))
    cfg.model.prompt.grouping_file = out
    cfg.work_dir = str(tmp_path / 'work')
    torch.manual_seed(0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val_loop.run()
    chance = 100. / 4
    assert metrics['mt/mean/top1'] > chance + 25, metrics
    for task in TASKS:
        assert metrics[f'mt/{task}/top1'] > chance, metrics
