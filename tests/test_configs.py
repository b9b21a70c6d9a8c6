"""Every leaf config composes through ``_base_`` inheritance and builds its
model; a toy base/leaf pair checks that inheritance overrides what it should."""
import glob
import json
import os.path as osp

import pytest
import torch.nn as nn
from mmengine.config import Config

from mmmae.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
LEAF_CONFIGS = sorted(
    osp.relpath(p, REPO)
    for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in osp.relpath(p, REPO).split(osp.sep))


def _stand_in_grouping_file(cfg, tmp_path):
    """MmAP-MT configs on real data read the groups that
    tools/analysis_tools/task_affinity.py writes under work_dirs/; a fresh
    clone has none, so they get one group of all tasks here."""
    prompt = cfg.model.get('prompt') or {}
    path = prompt.get('grouping_file')
    if path and not osp.isfile(osp.join(REPO, path)):
        stand_in = tmp_path / 'groups.json'
        stand_in.write_text(json.dumps(dict(groups=dict(
            all=list(cfg.model.tasks)))))
        prompt['grouping_file'] = str(stand_in)
    elif path:
        prompt['grouping_file'] = osp.join(REPO, path)


@pytest.mark.parametrize('config', LEAF_CONFIGS)
def test_leaf_config_builds_its_model(config, tmp_path):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert cfg.get('default_scope') == 'mmmae', config
    _stand_in_grouping_file(cfg, tmp_path)
    model = MODELS.build(cfg.model)
    assert isinstance(model, nn.Module)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_inheritance_overrides_base_model(tmp_path):
    (tmp_path / '_base_').mkdir()
    (tmp_path / '_base_' / 'model.py').write_text(
        "model = dict(type='MultiViT', arch='tiny', out_indices=(0, 1),\n"
        "             input_adapters=dict(\n"
        "                 rgb=dict(type='PatchedInputAdapter', "
        "in_channels=3)))\n")
    (tmp_path / 'leaf.py').write_text(
        "_base_ = ['_base_/model.py']\n"
        "model = dict(out_indices=(1, ), patch_size=8)\n")
    cfg = Config.fromfile(str(tmp_path / 'leaf.py'))
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'MultiViT'
    assert model.out_indices == [1] and model.patch_size == 8
    assert list(model.input_adapters) == ['rgb']


# ------------------------------------------------- evaluation hygiene
SELECTION_HOOKS = ('EarlyStoppingHook', )


def _without_pipelines(cfg):
    """A dataset config with its pipelines stripped: two loaders over the
    same images differ only by transforms otherwise."""
    if isinstance(cfg, dict):
        return {k: _without_pipelines(v) for k, v in cfg.items()
                if k != 'pipeline'}
    if isinstance(cfg, (list, tuple)):
        return [_without_pipelines(v) for v in cfg]
    return cfg


def _selection_leaks(cfg):
    """Why ``cfg`` selects a model on its test split, or None."""
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    selects = bool(checkpoint.get('save_best')) or any(
        h.get('type') in SELECTION_HOOKS
        for h in cfg.get('custom_hooks') or [])
    if not selects or not cfg.get('val_dataloader'):
        return None
    val = _without_pipelines(cfg.val_dataloader.dataset)
    test = cfg.get('test_dataloader')
    if not test:
        return 'selects on val but has no test_dataloader to report'
    if val == _without_pipelines(test.dataset):
        return 'selects on a val split equal to its test split'
    if val.get('split') == 'test':
        return 'selects on split="test"'
    return None


def test_no_config_selects_a_checkpoint_on_its_test_split():
    projects = glob.glob(osp.join(REPO, 'projects', '*', 'configs', '*.py'))
    configs = LEAF_CONFIGS + sorted(osp.relpath(p, REPO) for p in projects)
    leaks, selecting = {}, []
    for config in configs:
        cfg = Config.fromfile(osp.join(REPO, config))
        if (cfg.get('default_hooks') or {}).get('checkpoint', {}).get(
                'save_best'):
            selecting.append(config)
        why = _selection_leaks(cfg)
        if why:
            leaks[config] = why
    assert leaks == {}
    # The Office-Home and MiniDomainNet configs do select (on val).
    assert len([c for c in selecting if 'office-home' in c]) == 4
    assert len([c for c in selecting if 'mini-domainnet' in c]) == 4


def test_leak_check_flags_val_equal_to_test(tmp_path):
    leaky = tmp_path / 'leaky.py'
    leaky.write_text(
        "ds = dict(type='MultiDomainDataset', data_root='d', split='test')\n"
        "val_dataloader = dict(dataset=dict(ds, pipeline=[1]))\n"
        "test_dataloader = dict(dataset=dict(ds, pipeline=[2]))\n"
        "default_hooks = dict(checkpoint=dict(save_best='acc'))\n")
    assert 'equal to its test split' in _selection_leaks(
        Config.fromfile(str(leaky)))
    # Monitoring without selection is allowed.
    cfg = Config.fromfile(str(leaky))
    cfg.default_hooks.checkpoint.save_best = None
    assert _selection_leaks(cfg) is None


MULTI_DOMAIN_SELECTING = [
    'configs/mmap/mmap-mt_clip-vit-b16_l8d12_1xb32_5e_office-home-224.py',
    'configs/mmap/mmap-mt_clip-vit-b16_l8d12_1xb32_5e_mini-domainnet-224.py',
]


@pytest.mark.parametrize('config', MULTI_DOMAIN_SELECTING)
def test_val_split_is_carved_from_train_disjoint_and_seeded(config, tmp_path):
    """The configs' own train / val / test datasets, on a small generated
    folder (and split lists where the config reads official ones)."""
    import copy

    from mmmae.datasets.multi_domain import make_toy_multidomain
    from mmmae.registry import DATASETS
    cfg = Config.fromfile(osp.join(REPO, config))
    root = tmp_path / 'data'
    make_toy_multidomain(str(root), cfg.tasks, num_classes=3,
                         images_per_class=12, size=8)
    split_file = cfg.train_dataloader.dataset.get('split_file')
    if split_file:
        for d in cfg.tasks:
            for split, ks in (('train', range(9)), ('test', range(9, 12))):
                path = root / split_file.format(domain=d, split=split)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(''.join(
                    f'{d}/{c}/{k:04d}.png 0\n'
                    for c in ('blue', 'green', 'red') for k in ks))

    def build(loader, **overrides):
        ds = copy.deepcopy(loader.dataset)
        ds.pop('metainfo')
        ds.update(data_root=str(root), pipeline=[], num_classes=None,
                  **overrides)
        ds = DATASETS.build(ds)
        return {ds.get_data_info(i)['img_path'] for i in range(len(ds))}

    train, val, test = (build(cfg[f'{s}_dataloader'])
                        for s in ('train', 'val', 'test'))
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.test_dataloader.dataset.split == 'test'
    # Train and val share the carving parameters.
    for key in ('val_ratio', 'split_seed'):
        assert cfg.train_dataloader.dataset[key] == \
            cfg.val_dataloader.dataset[key] == \
            cfg.test_dataloader.dataset[key]
    full_train = build(cfg.train_dataloader, val_ratio=0.)
    assert val and not val & test and not val & train and not train & test
    assert train | val == full_train
    assert test == build(cfg.test_dataloader, val_ratio=0.)
    # 10% of 9 or ~10 train images per domain and class: one each.
    assert len(val) == len(cfg.tasks) * 3
    # Seeded: the same again, and another seed moves it.
    assert build(cfg.val_dataloader) == val
    assert build(cfg.val_dataloader, split_seed=1) != val
