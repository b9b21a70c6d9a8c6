"""Clear errors for a missing config and an unknown ``type``."""
import os.path as osp

import pytest

from mmmae.registry import METRICS, MODELS
from mmmae.utils import (ConfigNotFoundError, UnknownTypeError,
                         explain_registry_errors, load_config)


def test_missing_config_names_path_and_close_files(tmp_path):
    (tmp_path / 'vpt_multimae_nyuv2.py').write_text('x = 1\n')
    missing = str(tmp_path / 'vpt_multimae_nyu.py')
    with pytest.raises(ConfigNotFoundError) as info:
        load_config(missing)
    msg = str(info.value)
    assert f'config file not found: "{missing}"' in msg
    assert osp.join(str(tmp_path), 'vpt_multimae_nyuv2.py') in msg
    assert isinstance(info.value, FileNotFoundError)


def test_missing_base_names_base_and_leaf(tmp_path):
    leaf = tmp_path / 'leaf.py'
    leaf.write_text("_base_ = ['_base_/nope.py']\n")
    with pytest.raises(ConfigNotFoundError) as info:
        load_config(str(leaf))
    msg = str(info.value)
    assert osp.join(str(tmp_path), '_base_', 'nope.py') in msg
    assert str(leaf) in msg


def test_cfg_options_are_merged(tmp_path):
    cfg_file = tmp_path / 'c.py'
    cfg_file.write_text("model = dict(type='A', depth=2)\n")
    cfg = load_config(str(cfg_file), {'model.depth': 4})
    assert cfg.model.depth == 4


def test_unknown_type_names_registry_key_and_closest():
    cfg = dict(model=dict(type='Seg', backbone=dict(type='MultiVit')))
    with pytest.raises(UnknownTypeError) as info:
        with explain_registry_errors(cfg):
            MODELS.build(cfg['model']['backbone'])
    msg = str(info.value)
    assert msg.startswith('unknown type "MultiVit" in the mmmae::model '
                          'registry (config key: model.backbone.type)')
    assert 'Closest registered names: MultiViT' in msg
    # Still a KeyError for callers that catch what mmengine raises.
    assert isinstance(info.value, KeyError)


def test_suggestions_reach_sibling_scopes():
    # mmseg's metrics are valid with their scope prefix.
    with pytest.raises(UnknownTypeError) as info:
        with explain_registry_errors():
            METRICS.build(dict(type='IoUMetrc'))
    assert 'mmseg.IoUMetric' in str(info.value)
    assert 'mmmae::metric registry' in str(info.value)


def test_no_close_name_says_so():
    with pytest.raises(UnknownTypeError, match='No registered name is close'):
        with explain_registry_errors():
            MODELS.build(dict(type='Zzqxv'))


def test_other_key_errors_pass_through():
    with pytest.raises(KeyError) as info:
        with explain_registry_errors():
            raise KeyError('some other key')
    assert type(info.value) is KeyError


@pytest.mark.parametrize('old,new,other', [
    ('DPTHead', 'MultiMAEDPTHead', 'mmseg.DPTHead'),
    ('SiLogLoss', 'MultiMAESiLogLoss', 'mmseg.SiLogLoss'),
    ('MultiModalDataPreprocessor', 'MultiMAEDataPreprocessor',
     'mmpretrain.MultiModalDataPreprocessor'),
])
def test_renamed_types_never_resolve_to_another_class(old, new, other):
    # mmmae's scope must not answer to a name mmseg/mmpretrain also uses:
    # the old name fails and says which name to use for which class.
    cfg = dict(model=dict(type=old))
    with pytest.raises(UnknownTypeError) as info:
        with explain_registry_errors(cfg):
            MODELS.build(cfg['model'])
    msg = str(info.value)
    assert f'"{new}"' in msg and f'"{other}"' in msg
    assert 'config key: model.type' in msg
    assert MODELS.get(new) is not None


def test_old_grayscale_name_is_mmcvs_transform():
    # mmcv registers RandomGrayscale in mmengine's root registry, which
    # mmmae's TRANSFORMS inherits: the old name now means exactly what an
    # OpenMMLab user expects, never mmmae's multi-modal transform.
    from mmcv.transforms import RandomGrayscale

    from mmmae.datasets.transforms import MultiModalRandomGrayscale
    from mmmae.registry import TRANSFORMS
    assert TRANSFORMS.get('RandomGrayscale') is RandomGrayscale
    assert TRANSFORMS.get('MultiModalRandomGrayscale') is \
        MultiModalRandomGrayscale
