"""The weight-side plugin contract: selection errors, hooks, freezing."""
import copy
import functools

import pytest
import torch
import torch.nn as nn

from mmmae.models.backbones import MultiViT
from mmmae.models.peft import BasePEFT, MergeError
from mmmae.registry import MODELS


class _ScaleOut(BasePEFT):
    """A toy method: a learned per-channel gain on each target's output."""

    def __init__(self, targets=(r'blocks\.\d+\.mlp\.fc2', ), **kwargs):
        super().__init__(**kwargs)
        self.targets = targets
        self.gains = nn.ParameterDict()

    def attach(self, backbone):
        super().attach(backbone)
        for name, layer in self.select_modules(backbone, self.targets):
            key = self.module_key(name)
            self.gains[key] = nn.Parameter(torch.ones(layer.out_features))
            self.add_forward_hook(layer, functools.partial(self._hook, key))

    def _hook(self, key, module, args, output):
        return output * self.gains[key]


@pytest.fixture(autouse=True)
def _registered():
    MODELS.register_module(module=_ScaleOut, force=True)
    yield
    MODELS._module_dict.pop('_ScaleOut', None)


def _vit(**kwargs):
    return MultiViT(arch='tiny', patch_size=8, img_size=32, **kwargs)


def _inputs():
    torch.manual_seed(0)
    return dict(rgb=torch.randn(2, 3, 32, 32), depth=torch.randn(2, 1, 32, 32))


def test_method_params_train_and_frozen_parts_stay_in_eval():
    vit = _vit(peft=dict(type='_ScaleOut'), frozen=True, drop_rate=0.5)
    trainable = sorted(n for n, p in vit.named_parameters() if p.requires_grad)
    assert trainable == ['peft.gains.blocks_0_mlp_fc2',
                         'peft.gains.blocks_1_mlp_fc2']
    vit.train()
    assert vit.peft.training
    assert not vit.blocks.training and not vit.blocks[0].mlp.drop.training
    # Parameter names of the frozen layers are unchanged by the method.
    plain = {n for n, _ in _vit().named_parameters()}
    assert plain == {n for n, _ in vit.named_parameters()
                     if not n.startswith('peft.')}


def test_hooks_change_the_output_and_remove_restores_it():
    vit = _vit(peft=dict(type='_ScaleOut')).eval()
    x = _inputs()
    with torch.no_grad():
        base = vit(x)[0]
        for g in vit.peft.gains.values():
            g.fill_(2.)
        changed = vit(x)[0]
        vit.peft.remove()
        restored = vit(x)[0]
    assert not torch.allclose(base, changed)
    torch.testing.assert_close(base, restored)


def test_deepcopy_binds_hooks_to_the_copy():
    vit = _vit(peft=dict(type='_ScaleOut')).eval()
    twin = copy.deepcopy(vit)
    x = _inputs()
    with torch.no_grad():
        before = vit(x)[0]
        for g in twin.peft.gains.values():
            g.fill_(3.)
        # The original is untouched by the copy's parameters.
        torch.testing.assert_close(vit(x)[0], before)
        assert not torch.allclose(twin(x)[0], before)


def test_pattern_matching_nothing_names_the_pattern():
    with pytest.raises(ValueError, match=r"blocks\\\\.9\\\\.mlp.*matches no layer"):
        _vit(peft=dict(type='_ScaleOut', targets=(r'blocks\.9\.mlp', )))


def test_pattern_matching_a_layer_without_weight_names_the_layer():
    with pytest.raises(TypeError, match='"blocks.0.attn" .*has no weight'):
        _vit(peft=dict(type='_ScaleOut', targets=(r'blocks\.\d+\.attn', )))


def test_pattern_matching_a_non_linear_names_it():
    with pytest.raises(TypeError, match='"blocks.0.norm1" .*not a Linear'):
        _vit(peft=dict(type='_ScaleOut', targets=(r'blocks\.0\.norm1', )))


def test_bad_regex_and_non_peft_type():
    with pytest.raises(ValueError, match='not a regular expression'):
        _vit(peft=dict(type='_ScaleOut', targets=('blocks.(', )))
    with pytest.raises(TypeError, match='must subclass mmmae BasePEFT'):
        _vit(peft=dict(type='DeepPrompt', length=2))


def test_merge_is_refused_by_default():
    vit = _vit(peft=dict(type='_ScaleOut'))
    with pytest.raises(MergeError, match='_ScaleOut cannot be merged'):
        vit.peft.merge()


def test_overriding_module_apply_is_refused_and_to_works():
    with pytest.raises(TypeError, match='Bad overrides nn.Module.apply.*'
                       r'attach\(backbone\)'):
        type('Bad', (BasePEFT, ), dict(apply=lambda self, b: None))
    vit = _vit(peft=dict(type='_ScaleOut'))
    vit.to('cpu')  # nn.Module.apply(fn) reaches the method unchanged
    with pytest.raises(RuntimeError, match='already attached'):
        vit.peft.attach(vit)
