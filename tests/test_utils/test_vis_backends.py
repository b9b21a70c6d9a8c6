"""mmmae.utils.vis_backends: the top-level ``vis_backends`` reaches the
visualizer, tracker snippets add to the local backend and combine, and
contradictions fail naming the keys."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmmae.registry import VISBACKENDS
from mmmae.utils import ConfigKeyError, build_runner, load_config
from mmmae.utils.vis_backends import (DEFAULT_VIS_BACKENDS,
                                      resolve_vis_backends)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RUNTIME = osp.join(REPO, 'configs/_base_/default_runtime.py')
SNIPPETS = osp.join(REPO, 'configs/_base_/vis_backends')
LOCAL = dict(type='LocalVisBackend')
TB = dict(type='TensorboardVisBackend')
WANDB = dict(type='WandbVisBackend', init_kwargs=dict(project='mmmae'))
MLFLOW = dict(type='MLflowVisBackend', exp_name='mmmae')


def _leaf(tmp_path, body, bases=()):
    files = [RUNTIME] + [osp.join(SNIPPETS, f'{b}.py') for b in bases]
    path = tmp_path / 'leaf.py'
    path.write_text(f'_base_ = {files!r}\n{body}\n')
    return Config.fromfile(str(path))


def _types(backends):
    return [b['type'] for b in backends]


def test_default_runtime_holds_the_default():
    cfg = Config.fromfile(RUNTIME)
    assert cfg.vis_backends == DEFAULT_VIS_BACKENDS
    assert cfg.visualizer.vis_backends == DEFAULT_VIS_BACKENDS
    assert resolve_vis_backends(cfg) == [LOCAL]


def test_overriding_top_level_vis_backends_reaches_the_visualizer(tmp_path):
    cfg = _leaf(tmp_path, 'vis_backends = [dict(type="LocalVisBackend"), '
                'dict(type="TensorboardVisBackend")]')
    # mmengine alone: the visualizer kept the base's list.
    assert cfg.visualizer.vis_backends == [LOCAL]
    assert resolve_vis_backends(cfg) == [LOCAL, TB]
    assert cfg.visualizer.vis_backends == [LOCAL, TB]


def test_cfg_options_vis_backends_reaches_the_visualizer(tmp_path):
    path = tmp_path / 'leaf.py'
    path.write_text(f'_base_ = [{RUNTIME!r}]\n')
    cfg = load_config(
        str(path), dict(vis_backends=[LOCAL, dict(type='WandbVisBackend')]))
    assert _types(resolve_vis_backends(cfg)) == [
        'LocalVisBackend', 'WandbVisBackend'
    ]


def test_a_visualizer_override_still_wins_over_the_default(tmp_path):
    # The mmseg habit: only visualizer.vis_backends is set.
    cfg = _leaf(tmp_path, 'visualizer = dict(vis_backends=['
                'dict(type="TensorboardVisBackend")])')
    assert resolve_vis_backends(cfg) == [TB]


def test_both_changed_and_different_is_an_error(tmp_path):
    cfg = _leaf(
        tmp_path, 'vis_backends = [dict(type="WandbVisBackend")]\n'
        'visualizer = dict(vis_backends=[dict(type="TensorboardVisBackend")])')
    with pytest.raises(ConfigKeyError) as e:
        resolve_vis_backends(cfg)
    assert 'leaf.py' in str(e.value)
    assert 'vis_backends = ' in str(e.value)
    assert 'visualizer.vis_backends = ' in str(e.value)


@pytest.mark.parametrize('bases,expected', [
    (['tensorboard'], [LOCAL, TB]),
    (['wandb'], [LOCAL, WANDB]),
    (['mlflow'], [LOCAL, MLFLOW]),
    (['tensorboard', 'wandb', 'mlflow'], [LOCAL, MLFLOW, TB, WANDB]),
])
def test_snippets_add_to_the_local_backend_and_combine(
        tmp_path, bases, expected):
    cfg = _leaf(tmp_path, '', bases)
    assert resolve_vis_backends(cfg) == expected
    assert cfg.visualizer.vis_backends == expected
    # Idempotent: the snippet keys are folded in and gone.
    assert not [k for k in cfg if k.endswith('_vis_backend')]
    assert resolve_vis_backends(cfg) == expected


def test_snippet_on_top_of_a_custom_list(tmp_path):
    cfg = _leaf(tmp_path, 'vis_backends = []', ['tensorboard'])
    assert resolve_vis_backends(cfg) == [TB]


def test_leaf_edits_or_switches_off_a_snippet(tmp_path):
    cfg = _leaf(
        tmp_path, 'wandb_vis_backend = dict(init_kwargs=dict(project="p"))\n'
        'tensorboard_vis_backend = None', ['tensorboard', 'wandb'])
    assert resolve_vis_backends(cfg) == [
        LOCAL, dict(type='WandbVisBackend', init_kwargs=dict(project='p'))
    ]


def test_snippet_types_are_in_mmmae_scope():
    for cls in ('LocalVisBackend', 'TensorboardVisBackend',
                'WandbVisBackend', 'MLflowVisBackend'):
        assert VISBACKENDS.get(cls) is not None, cls
    # mmmae's atomic local backend, mmengine's trackers.
    assert VISBACKENDS.get('LocalVisBackend').__module__ == \
        'mmmae.visualization.vis_backend'


@pytest.mark.parametrize('body,message', [
    ('tensorboard_vis_backend = "TensorboardVisBackend"',
     "tensorboard_vis_backend must be a dict with a 'type'"),
    ('vis_backends = [dict(type="TensorboardVisBackend"), '
     'dict(type="TensorboardVisBackend", save_dir="x")]',
     'two visualizer backends are named "TensorboardVisBackend"'),
])
def test_bad_tracker_entries_are_named(tmp_path, body, message):
    cfg = _leaf(tmp_path, body)
    with pytest.raises(ConfigKeyError, match=message):
        resolve_vis_backends(cfg)


def test_no_visualizer_with_a_tracker_is_an_error(tmp_path):
    cfg = _leaf(tmp_path, 'visualizer = None', ['tensorboard'])
    with pytest.raises(ConfigKeyError, match='has no visualizer'):
        resolve_vis_backends(cfg)


def test_build_runner_resolves_before_checking(tmp_path):
    # A typo inside a snippet's backend is found by the section check,
    # which only sees it once it is folded into the visualizer.
    cfg = _leaf(tmp_path, 'tensorboard_vis_backend = dict(save_dr="x")\n'
                'model = dict(type="MultiMAE")\nwork_dir = "w"',
                ['tensorboard'])
    with pytest.raises(ConfigKeyError,
                       match=r'visualizer.vis_backends.1.save_dr'):
        build_runner(cfg)


def test_a_tracker_from_cfg_options(tmp_path):
    path = tmp_path / 'leaf.py'
    path.write_text(f'_base_ = [{RUNTIME!r}]\n')
    cfg = load_config(
        str(path), {'tensorboard_vis_backend.type': 'TensorboardVisBackend'})
    assert resolve_vis_backends(cfg) == [LOCAL, TB]


def test_all_snippets_build_their_backends_without_the_trackers(tmp_path):
    # Backends import wandb / mlflow / tensorboard only when first used, so
    # the visualizer builds without them and without a network.
    from mmmae.registry import VISUALIZERS
    cfg = _leaf(tmp_path, '', ['tensorboard', 'wandb', 'mlflow'])
    resolve_vis_backends(cfg)
    visualizer = VISUALIZERS.build(
        dict(cfg.visualizer, name='all_snippets', save_dir=str(tmp_path)))
    built = [type(b) for b in visualizer._vis_backends.values()]
    assert built == [VISBACKENDS.get(t) for t in (
        'LocalVisBackend', 'MLflowVisBackend', 'TensorboardVisBackend',
        'WandbVisBackend')]
    _, mlflow, _, wandb = visualizer._vis_backends.values()
    assert wandb._init_kwargs == dict(project='mmmae')
    assert mlflow._exp_name == 'mmmae'
