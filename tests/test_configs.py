"""Every leaf config composes through ``_base_`` inheritance and builds its
model; a toy base/leaf pair checks that inheritance overrides what it should."""
import glob
import json
import math
import re
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
    'configs/mmap/mmap-mt_clip-vit-b16_l8d12_1xb32-5e_office-home-224.py',
    'configs/mmap/mmap-mt_clip-vit-b16_l8d12_1xb32-5e_mini-domainnet-224.py',
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


# ------------------------------------------- dense multi-task configs
DENSE_MT_CONFIGS = [
    c for c in LEAF_CONFIGS
    if any(s in c for s in ('-pt_seg-depth-normals-edge_', '-pt_semseg_',
                            '-pt_depth_1', '-pt_normals_', '-pt_edge_',
                            '-40k_nyud-mt', '-40k_pascal-context-mt'))
]
# What reads each prediction field: mmseg's metrics have fixed fields.
_MMSEG_PRED = {'mmseg.IoUMetric': 'pred_sem_seg',
               'mmseg.DepthMetric': 'pred_depth_map'}


def _pred_fields_evaluated(evaluators):
    from mmmae.registry import METRICS
    fields = set()
    for cfg in evaluators:
        if cfg['type'] in _MMSEG_PRED:
            fields.add(_MMSEG_PRED[cfg['type']])
        else:
            fields.add(METRICS.build(dict(cfg)).pred_key)
    return fields


def test_dense_multi_task_configs_are_listed():
    assert len(DENSE_MT_CONFIGS) == 10, DENSE_MT_CONFIGS


@pytest.mark.parametrize('config', DENSE_MT_CONFIGS)
def test_dense_multi_task_config_heads_data_metrics_prompts_agree(config):
    """Every head's task is loaded by the dataset and scored by a metric;
    task weights and multi-task prompts name exactly the heads."""
    from mmmae.datasets.tasks import TASK_FIELDS
    cfg = Config.fromfile(osp.join(REPO, config))
    model = MODELS.build(cfg.model)
    data = cfg.train_dataloader.dataset
    provided = data.get('tasks') or data.get('targets')
    task_of_field = {f.field: t for t, f in TASK_FIELDS.items()}
    for task in model.tasks:
        assert task_of_field[model.gt_fields[task]] in provided, (config,
                                                                  task)
    assert set(model.pred_fields.values()) == _pred_fields_evaluated(
        cfg.test_evaluator), config
    assert set(model.task_weights) == set(model.tasks)
    prompt = model.backbone.prompt
    if prompt is not None:
        assert set(prompt.tasks) == set(model.tasks)
        assert model.backbone.frozen


def test_single_task_twins_differ_only_in_their_task():
    root = 'configs/multimae/multimae_vit-tiny-p8-pt_{}_1xb8-150i_' \
        'nyuv2synth-64x64.py'
    joint = Config.fromfile(osp.join(REPO, root.format(
        'seg-depth-normals-edge')))
    prompt = Config.fromfile(osp.join(
        REPO, 'configs/prompt/mtprompt_multimae-tiny-p8-pt_seg-depth-'
        'normals-edge_1xb8-150i_nyuv2synth-64x64.py'))
    for cfg in [prompt] + [Config.fromfile(osp.join(REPO, root.format(t)))
                           for t in ('semseg', 'depth', 'normals', 'edge')]:
        for key in ('param_scheduler', 'train_cfg', 'randomness'):
            assert cfg[key] == joint[key], key
        assert cfg.train_dataloader.dataset.pipeline == \
            joint.train_dataloader.dataset.pipeline
        assert cfg.model.backbone.init_cfg == joint.model.backbone.init_cfg
        assert cfg.optim_wrapper.optimizer == joint.optim_wrapper.optimizer
        for task, head in cfg.model.decode_heads.items():
            if head is not None:
                assert head == joint.model.decode_heads[task]
                assert cfg.model.task_weights[task] == \
                    joint.model.task_weights[task]
    assert joint.train_cfg.max_iters == 150


@pytest.mark.parametrize('name,crop,weights,max_dist', [
    ('nyud-mt-448x576', (448, 576),
     dict(semseg=1.0, depth=1.0, normals=10.0, edge=50.0), 0.011),
    ('pascal-context-mt-512x512', (512, 512),
     dict(semseg=1.0, parts=2.0, sal=5.0, normals=10.0, edge=50.0), 0.0075),
])
def test_vit_b_benchmark_configs_follow_the_literature(name, crop, weights,
                                                       max_dist):
    """InvPT / TaskPrompter configs: 40k iterations of batch 2, Adam 2e-5
    (wd 1e-6), poly 0.9 to 0, clip 10, their task weights and crops;
    SEISM maxDist per benchmark."""
    import glob as _glob
    files = _glob.glob(osp.join(REPO, 'configs', '*', f'*-40k_{name}.py'))
    assert len(files) == 2, files
    for path in files:
        cfg = Config.fromfile(path)
        assert cfg.crop_size == crop
        crops = [t for t in cfg.train_dataloader.dataset.pipeline
                 if t['type'] == 'MultiModalRandomCrop']
        assert crops[0]['crop_size'] == crop
        assert cfg.train_dataloader.batch_size == 2
        assert cfg.train_cfg.max_iters == 40000
        opt = cfg.optim_wrapper
        assert opt.optimizer == dict(type='Adam', lr=2e-5, weight_decay=1e-6)
        assert opt.clip_grad == dict(max_norm=10, norm_type=2)
        assert [dict(s) for s in cfg.param_scheduler] == [dict(
            type='PolyLR', power=0.9, eta_min=0., by_epoch=False, begin=0,
            end=40000)]
        assert cfg.model.backbone.drop_path_rate == 0.15
        assert cfg.model.task_weights == weights
        edge = [e for e in cfg.test_evaluator
                if e['type'] == 'BoundaryMetric']
        assert edge[0]['max_dist'] == max_dist
        heads = {t: h for t, h in cfg.model.decode_heads.items() if h}
        assert set(heads) == set(weights)
        if 'edge' in heads:
            model = MODELS.build(cfg.model.decode_heads.edge)
            assert model._losses()[0].pos_weight == 0.95


_DEFAULT_HOOKS = ('timer', 'logger', 'param_scheduler', 'checkpoint',
                  'sampler_seed', 'rng_state', 'visualization',
                  'model_identity')


@pytest.mark.parametrize('config', LEAF_CONFIGS)
def test_checkpoint_interval_follows_the_schedule(config):
    """Every config has the full hook set, and an iteration schedule saves
    at least every 5% of its length (tiny runs: every 50 iterations)."""
    cfg = Config.fromfile(osp.join(REPO, config))
    hooks = cfg.default_hooks
    assert set(_DEFAULT_HOOKS) <= set(hooks), (config, sorted(hooks))
    ckpt, train = hooks.checkpoint, cfg.train_cfg
    if train.get('type') == 'IterBasedTrainLoop' or \
            train.get('by_epoch') is False:
        assert not ckpt.get('by_epoch', False), config
        limit = max(math.ceil(0.05 * train.max_iters), 50)
        assert 0 < ckpt.interval <= limit, (config, ckpt.interval,
                                            train.max_iters)
    else:  # epoch-based: a checkpoint every epoch or every 5% of them
        assert ckpt.get('by_epoch') is True, config
        assert ckpt.interval <= max(1, 0.05 * train.max_epochs), config


@pytest.mark.parametrize('name,interval', [
    ('schedule_20k.py', 1000), ('schedule_40k_dense-mt.py', 2000),
    ('schedule_80k.py', 4000), ('schedule_160k.py', 8000),
    ('schedule_300i.py', 50)])
def test_schedule_files_carry_their_checkpoint_interval(name, interval):
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'schedules',
                                   name))
    assert cfg.default_hooks.checkpoint.interval == interval
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'
    assert set(_DEFAULT_HOOKS) <= set(cfg.default_hooks)
    if interval != 50:
        assert interval == cfg.train_cfg.max_iters // 20


_NAME = re.compile(r'^[a-z0-9.-]+_[a-z0-9.-]+(_[a-z0-9.-]+)*_'
                   r'(?P<gpus>\d+)xb(?P<batch>\d+)(-[a-z0-9.]+)*'
                   r'-(?P<schedule>\d+[kie])_[a-z0-9.-]+\.py$')


@pytest.mark.parametrize('config', LEAF_CONFIGS)
def test_config_name_states_gpus_batch_and_schedule(config):
    """{algorithm}_{backbone}..._{gpus}xb{batch}[-...]-{schedule}_{dataset}:
    the name's batch is the config's, and auto_scale_lr's base is the
    name's total batch."""
    match = _NAME.match(osp.basename(config))
    assert match, f'{config} does not follow the naming pattern'
    cfg = Config.fromfile(osp.join(REPO, config))
    gpus, batch = int(match['gpus']), int(match['batch'])
    assert cfg.train_dataloader.batch_size == batch, config
    assert cfg.auto_scale_lr.base_batch_size == gpus * batch, config
    schedule = match['schedule']
    train = cfg.train_cfg
    if schedule.endswith('e'):
        assert train.max_epochs == int(schedule[:-1]), config
    else:
        n = int(schedule[:-1]) * (1000 if schedule.endswith('k') else 1)
        # 20k names a 19,875-iteration (200-epoch) NYUv2 run.
        assert abs(train.max_iters - n) <= 0.01 * n, (config, train.max_iters)
