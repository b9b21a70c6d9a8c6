"""Config keys that nothing reads fail before training, naming the dotted
key and the closest valid names (mmmae/utils/config_check.py)."""
import glob
import os.path as osp
import sys

import pytest
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmmae.utils import ConfigKeyError, build_runner, load_config
from mmmae.utils.config_check import (accepted_args, check_file_keys,
                                      check_option_keys, check_sections)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHIPPED = sorted(
    osp.relpath(p, REPO) for p in
    glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True) +
    glob.glob(osp.join(REPO, 'projects', '*', 'configs', '**', '*.py'),
              recursive=True)
    if '_base_' not in osp.relpath(p, REPO).split(osp.sep))
TINY = osp.join(
    REPO, 'configs', 'prompt',
    'mtprompt_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py')
sys.path.insert(0, osp.join(REPO, 'tests', 'test_tools'))
from toy_project import run_tool, write_toy_project  # noqa: E402


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The tools tests' toy project (6 iterations, a checkpoint every 2)."""
    cfg = write_toy_project(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return dict(root=tmp_path, cfg=cfg, work_dir=str(tmp_path / 'work'))


# --- every shipped config is clean -----------------------------------------


def test_shipped_configs_are_found():
    assert len(SHIPPED) > 40
    assert any(p.startswith('projects') for p in SHIPPED)


@pytest.mark.parametrize('config', SHIPPED)
def test_shipped_config_has_no_unknown_keys(config, monkeypatch):
    monkeypatch.syspath_prepend(REPO)  # projects' custom_imports
    cfg = load_config(osp.join(REPO, config))  # raises on top-level typos
    assert check_sections(cfg) == [], config


def test_toy_project_config_has_no_unknown_keys(toy):
    cfg = load_config(toy['cfg'])
    assert check_sections(cfg) == []


# --- the two typos of issue 12, through tools/train.py ---------------------


def test_tain_cfg_option_fails_before_anything_runs(toy, load_tool):
    with pytest.raises(ConfigKeyError) as info:
        load_tool('tools/train.py', 'train_tool').main([
            toy['cfg'], '--work-dir', toy['work_dir'], '--cfg-options',
            'tain_cfg.max_iters=4'
        ])
    assert str(info.value) == (
        f"{toy['cfg']}: unknown config key 'tain_cfg' (did you mean "
        "'train_cfg'?) (--cfg-options tain_cfg.max_iters)")
    # No Runner was built: it creates the work dir first thing.
    assert not osp.exists(toy['work_dir'])


def test_max_keep_ckpt_fails_before_the_runner_is_built(toy, load_tool):
    with pytest.raises(ConfigKeyError) as info:
        load_tool('tools/train.py', 'train_tool').main([
            toy['cfg'], '--work-dir', toy['work_dir'], '--cfg-options',
            'default_hooks.checkpoint.max_keep_ckpt=1'
        ])
    assert str(info.value).endswith(
        'default_hooks.checkpoint.max_keep_ckpt is not an argument of '
        "CheckpointHook (did you mean 'max_keep_ckpts'?)")
    assert not osp.exists(toy['work_dir'])


def test_train_tool_prints_the_error_and_trains_nothing(toy):
    proc = run_tool([
        'tools/train.py', toy['cfg'], '--work-dir', toy['work_dir'],
        '--cfg-options', 'default_hooks.checkpoint.max_keep_ckpt=1',
        'tain_cfg.max_iters=4'
    ], toy['root'])
    assert proc.returncode == 1, proc.stdout[-3000:]
    # The top-level typo is found first, on loading (no traceback).
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith('ConfigKeyError: ') and 'Traceback' not in \
        proc.stdout
    assert "unknown config key 'tain_cfg' (did you mean 'train_cfg'?)" in last
    assert 'Iter(train)' not in proc.stdout
    assert not glob.glob(osp.join(toy['work_dir'], '*.pth'))


def test_valid_overrides_still_train(toy):
    proc = run_tool([
        'tools/train.py', toy['cfg'], '--work-dir', toy['work_dir'],
        '--cfg-options', 'train_cfg.max_iters=2',
        'default_hooks.checkpoint.max_keep_ckpts=1',
        'randomness.deterministic=True', 'auto_scale_lr.enable=False'
    ], toy['root'])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'Iter(train) [2/2]' in proc.stdout
    assert osp.isfile(osp.join(toy['work_dir'], 'iter_2.pth'))


def test_test_tool_rejects_typos_too(toy, load_tool):
    test_main = load_tool('tools/test.py', 'test_tool').main
    ckpt = toy['root'] / 'fake.pth'
    ckpt.write_bytes(b'')
    with pytest.raises(ConfigKeyError, match=r"'tain_cfg' \(did you mean"):
        test_main([toy['cfg'], str(ckpt), '--cfg-options', 'tain_cfg.x=1'])
    # Sections are checked when the Runner would be built.
    with pytest.raises(ConfigKeyError) as info:
        test_main([
            toy['cfg'],
            str(ckpt), '--work-dir', toy['work_dir'], '--cfg-options',
            'test_evaluator.output_dri=out'
        ])
    assert str(info.value).endswith(
        "test_evaluator.output_dri is not an argument of ToyMetric (did "
        "you mean 'output_dir'?)")


# --- top level: config files and --cfg-options ------------------------------


def _files(tmp_path, leaf: str) -> str:
    (tmp_path / 'base.py').write_text(
        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=300)\n"
        "test_pipeline = [dict(type='PackMultiModalInputs')]\n")
    (tmp_path / 'leaf.py').write_text("_base_ = ['./base.py']\n" + leaf)
    return str(tmp_path / 'leaf.py')


def test_typo_in_a_config_file_is_an_error(tmp_path):
    path = _files(tmp_path, 'tain_cfg = dict(max_iters=4)\n')
    with pytest.raises(ConfigKeyError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: unknown config key 'tain_cfg' (did you mean "
        "'train_cfg'?)")
    assert info.value.problems == [
        "unknown config key 'tain_cfg' (did you mean 'train_cfg'?)"
    ]
    assert isinstance(info.value, KeyError)


def test_helper_variables_of_a_config_file_pass(tmp_path):
    # Helpers: far from every known key, private, or used by the config
    # (even when close to a known key, as `test_pipelines` is).
    path = _files(
        tmp_path, 'crop_size = (64, 64)\n_data = dict(num=3)\n'
        "test_pipelines = [dict(type='PackMultiModalInputs')]\n"
        'test_dataloader = dict(dataset=dict(pipeline=test_pipelines))\n')
    cfg = load_config(path)
    assert check_file_keys(cfg) == []
    # The same close name, unused, is a typo.
    path = _files(tmp_path, "test_pipelines = [dict(type='X')]\n")
    with pytest.raises(ConfigKeyError, match="did you mean 'test_pipeline'"):
        load_config(path)


def test_a_name_used_through_base_reference_is_a_helper(tmp_path):
    (tmp_path / 'base.py').write_text('test_pipelines = [1]\n')
    (tmp_path / 'leaf.py').write_text(
        "_base_ = ['./base.py']\n"
        'test_dataloader = dict(dataset=dict(pipeline={{_base_.'
        'test_pipelines}}))\n')
    assert check_file_keys(Config.fromfile(str(tmp_path / 'leaf.py'))) == []


def test_option_keys_at_the_top_level():
    cfg = Config(dict(train_cfg=dict(max_iters=2), crop_size=(4, 4)))
    # In the config, or known to the Runner even when absent.
    assert check_option_keys(cfg, {
        'train_cfg.max_iters': 4,
        'crop_size': (8, 8),
        'randomness.seed': 0,
        'work_dir': 'x',
        'custom_imports.imports': ['a']
    }) == []
    assert check_option_keys(cfg, {'tain_cfg.max_iters': 4}) == [
        "unknown config key 'tain_cfg' (did you mean 'train_cfg'?) "
        '(--cfg-options tain_cfg.max_iters)'
    ]
    # Anything else is an error even far from every known key.
    assert check_option_keys(cfg, {'zzqx': 1}) == [
        "unknown config key 'zzqx' (--cfg-options zzqx)"
    ]
    # So is a helper the config lacks: setting it would reach nothing.
    assert check_option_keys(cfg, {'optimizer.lr': 1}) == [
        "unknown config key 'optimizer' (did you mean 'optim_wrapper'?) "
        '(--cfg-options optimizer.lr)'
    ]


def test_options_are_not_merged_when_they_fail(tmp_path):
    path = _files(tmp_path, '')
    with pytest.raises(ConfigKeyError):
        load_config(path, {'tain_cfg.max_iters': 4})
    assert load_config(path, {'train_cfg.max_iters': 4}).train_cfg == dict(
        type='IterBasedTrainLoop', max_iters=4)


def test_overriding_a_used_helper_warns(tmp_path):
    path = _files(
        tmp_path, "data_root = 'a'\n"
        'train_dataloader = dict(dataset=dict(data_root=data_root))\n')
    logger = MMLogger.get_current_instance()
    messages = []
    handler = type('H', (__import__('logging').Handler, ), {
        'emit': lambda self, record: messages.append(record.getMessage())
    })()
    logger.addHandler(handler)
    try:
        cfg = load_config(path, {'data_root': 'b'})
    finally:
        logger.removeHandler(handler)
    assert cfg.train_dataloader.dataset.data_root == 'a'
    assert any(m.startswith('--cfg-options data_root only changes the '
                            'top-level variable') for m in messages)


# --- inside the sections the Runner builds ---------------------------------


@pytest.mark.parametrize('option, message', [
    ('train_cfg.max_iter', 'train_cfg.max_iter is not an argument of '
     "IterBasedTrainLoop (did you mean 'max_iters'?)"),
    ('val_cfg.fp61', "val_cfg.fp61 is not an argument of ValLoop (did you "
     "mean 'fp16'?)"),
    ('default_hooks.logger.intervall', 'default_hooks.logger.intervall is '
     "not an argument of LoggerHook (did you mean 'interval'?)"),
    ('default_hooks.chekpoint.interval', "default_hooks.chekpoint has no "
     "'type' and is not one of mmengine's default hooks (did you mean "
     "'checkpoint'?)"),
    ('custom_hooks.1.save_delt', 'custom_hooks.1.save_delt is not an '
     "argument of DeltaCheckpointHook (did you mean 'save_delta'?)"),
    ('optim_wrapper.clipgrad', 'optim_wrapper.clipgrad is not an argument '
     "of OptimWrapper (did you mean 'clip_grad'?)"),
    ('optim_wrapper.optimizer.weight_dacay', 'optim_wrapper.optimizer.'
     "weight_dacay is not an argument of AdamW (did you mean "
     "'weight_decay'?)"),
    ('optim_wrapper.paramwise_cfg.prompt_lr_mul', 'optim_wrapper.'
     'paramwise_cfg.prompt_lr_mul is not a key PromptOptimWrapperConstructor '
     "reads (did you mean 'prompt_lr_mult'?)"),
    ('param_scheduler.1.eta_min_ration', 'param_scheduler.1.eta_min_ration '
     "is not an argument of CosineAnnealingLR (did you mean "
     "'eta_min_ratio'?)"),
    ('env_cfg.cudnn_benchmrk', 'env_cfg.cudnn_benchmrk is not a key '
     "Runner.setup_env reads (did you mean 'cudnn_benchmark'?)"),
    ('env_cfg.mp_cfg.opencv_threads', 'env_cfg.mp_cfg.opencv_threads is not '
     "an argument of set_multi_processing (did you mean "
     "'opencv_num_threads'?)"),
    ('randomness.sed', 'randomness.sed is not an argument of '
     "Runner.set_randomness (did you mean 'seed'?)"),
    ('auto_scale_lr.base_batchsize', 'auto_scale_lr.base_batchsize is not '
     "a key Runner reads (did you mean 'base_batch_size'?)"),
    ('log_processor.by_epch', 'log_processor.by_epch is not an argument of '
     "LogProcessor (did you mean 'by_epoch'?)"),
    ('visualizer.nam', 'visualizer.nam is not an argument of '
     "MultiTaskLocalVisualizer (did you mean 'name'?)"),
    ('visualizer.vis_backends.0.save_dr', 'visualizer.vis_backends.0.save_dr'
     " is not an argument of LocalVisBackend (did you mean 'save_dir'?)"),
    ('model_wrapper_cfg.find_unused', 'model_wrapper_cfg.find_unused is not '
     'an argument of MMDistributedDataParallel (did you mean '
     "'find_unused_parameters'?)"),
    ('train_dataloader.batchsize', 'train_dataloader.batchsize is not an '
     "argument of DataLoader (did you mean 'batch_size'?)"),
    ('train_dataloader.sampler.shufle', 'train_dataloader.sampler.shufle is '
     "not an argument of InfiniteSampler (did you mean 'shuffle'?)"),
    ('val_dataloader.dataset.data_rot', 'val_dataloader.dataset.data_rot is '
     "not an argument of NYUv2MultiTaskDataset (did you mean 'data_root'?)"),
    ('test_dataloader.dataset.pipeline.0.load_target', 'test_dataloader.'
     'dataset.pipeline.0.load_target is not an argument of '
     "LoadMultiModalFromFile (did you mean 'load_targets'?)"),
    # mmseg's IoUMetric drops its **kwargs: a typo there is ignored today.
    ('val_evaluator.0.iou_metric', 'val_evaluator.0.iou_metric is not an '
     "argument of mmseg.IoUMetric (did you mean 'iou_metrics'?)"),
])
def test_section_typo_is_named_with_the_closest_key(option, message):
    cfg = load_config(TINY)
    cfg.merge_from_dict({option: 1}, allow_list_keys=True)
    assert check_sections(cfg) == [message]


def test_all_problems_are_reported_together_before_the_model():
    cfg = load_config(TINY)
    cfg.merge_from_dict({
        'train_cfg.max_iter': 4,
        'default_hooks.checkpoint.max_keep_ckpt': 1,
        # Building this model would fail: the check comes first.
        'model.type': 'NoSuchModel',
    })
    with pytest.raises(ConfigKeyError) as info:
        build_runner(cfg)
    msg = str(info.value)
    assert msg.startswith(f'{TINY}: 2 config keys nothing reads:\n  - ')
    assert "'max_iters'" in msg and "'max_keep_ckpts'" in msg


def test_valid_section_keys_pass():
    cfg = load_config(TINY)
    cfg.merge_from_dict({
        'train_cfg.val_begin': 10,
        'default_hooks.checkpoint.save_best': 'mIoU',
        'default_hooks.checkpoint.priority': 'NORMAL',
        'optim_wrapper.accumulative_counts': 2,
        'optim_wrapper.paramwise_cfg.custom_keys': {'head': dict(lr_mult=2)},
        'env_cfg.resource_limit': 4096,
        'randomness.diff_rank_seed': True,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.num_batch_per_epoch': 2,
    })
    assert check_sections(cfg) == []


def test_loop_shortcut_by_epoch():
    assert check_sections(Config(dict(
        train_cfg=dict(by_epoch=True, max_epochs=2)))) == []
    problems = check_sections(Config(dict(
        train_cfg=dict(by_epoch=False, max_epochs=2))))
    assert len(problems) == 1 and problems[0].startswith(
        'train_cfg.max_epochs is not an argument of IterBasedTrainLoop')
    assert "'max_iters'" in problems[0]
    assert check_sections(Config(dict(train_cfg=dict(max_iters=2)))) == [
        "train_cfg needs a 'type' (e.g. 'IterBasedTrainLoop') or 'by_epoch'"]


# --- what a class accepts -----------------------------------------------------


class _Base:

    def __init__(self, alpha=1):
        self.alpha = alpha


class _Forwards(_Base):

    def __init__(self, beta=2, **kwargs):
        super().__init__(**kwargs)


class _Stores(_Base):

    def __init__(self, beta=2, **kwargs):
        super().__init__()
        self.extra = kwargs


class _Drops(_Base):

    def __init__(self, beta=2, **kwargs):
        super().__init__()


def test_accepted_args_follow_kwargs_to_the_parent():
    assert accepted_args(_Forwards) == {'alpha', 'beta'}
    # kwargs kept for later: anything goes (nothing can be checked).
    assert accepted_args(_Stores) is None
    # kwargs dropped: an unknown key would be silently ignored, and the
    # parent's arguments cannot be reached.
    assert accepted_args(_Drops) == {'beta'}
    assert accepted_args(lambda a, b=1: None) == {'a', 'b'}
    assert accepted_args(lambda a, **kw: None) is None


def test_checkpoint_hook_kwargs_reach_save_checkpoint():
    from mmengine.hooks import CheckpointHook

    # mmengine passes every argument of Runner.save_checkpoint itself, so
    # its **kwargs accept nothing more.
    allowed = accepted_args(CheckpointHook)
    assert 'max_keep_ckpts' in allowed and 'max_keep_ckpt' not in allowed


def test_a_failing_check_step_does_not_block_the_run(monkeypatch):
    from mmmae.utils import config_check

    def broken(self):
        raise RuntimeError('boom')

    monkeypatch.setattr(config_check._SectionChecker, 'loops', broken)
    cfg = Config(dict(train_cfg=dict(tpye='X'), randomness=dict(sed=0)))
    # The loop step is skipped (with a warning); the others still run.
    assert check_sections(cfg) == [
        'randomness.sed is not an argument of Runner.set_randomness (did '
        "you mean 'seed'?)"
    ]
