"""BitFit and LN tuning as named methods: exactly their subset trains."""
import pytest
import torch

from mmmae.models.backbones import MultiViT


def _vit(peft, **kwargs):
    torch.manual_seed(0)
    return MultiViT(arch='tiny', patch_size=8, img_size=32, peft=peft,
                    frozen=True, **kwargs)


def _trainable(vit):
    return {n for n, p in vit.named_parameters() if p.requires_grad}


def test_bitfit_trains_every_bias_and_nothing_else():
    vit = _vit(dict(type='BitFit'))
    biases = {n for n, _ in vit.named_parameters() if n.endswith('.bias')}
    assert _trainable(vit) == biases
    # Linear, conv (patch projection) and LayerNorm biases alike.
    assert {'blocks.0.attn.qkv.bias', 'blocks.1.mlp.fc2.bias',
            'blocks.0.norm1.bias', 'input_adapters.rgb.proj.bias'} <= biases
    assert set(vit.peft.param_names) == biases


def test_ln_tuning_trains_layernorm_gain_and_bias_only():
    vit = _vit(dict(type='LNTuning'))
    want = {f'blocks.{i}.norm{j}.{p}' for i in range(2) for j in (1, 2)
            for p in ('weight', 'bias')}
    assert _trainable(vit) == want


def test_it_matches_the_old_regex_config_and_survives_train():
    regex = MultiViT(arch='tiny', patch_size=8, img_size=32, frozen=True,
                     trainable_patterns=('norm', ))
    vit = _vit(dict(type='LNTuning'))
    vit.train()  # _freeze runs again: the subset stays trainable
    assert _trainable(vit) == _trainable(regex)
    assert not vit.blocks.training


def test_one_step_changes_only_the_subset():
    vit = _vit(dict(type='BitFit'))
    vit.train()
    before = {n: p.detach().clone() for n, p in vit.named_parameters()}
    opt = torch.optim.SGD([p for p in vit.parameters() if p.requires_grad],
                          lr=0.1)
    x = dict(rgb=torch.randn(2, 3, 32, 32), depth=torch.randn(2, 1, 32, 32))
    vit(x)[0].square().mean().backward()
    opt.step()
    changed = {n for n, p in vit.named_parameters()
               if not torch.equal(p, before[n])}
    assert changed and changed <= _trainable(vit)
    assert 'blocks.0.attn.qkv.bias' in changed


def test_a_backbone_without_the_subset_is_an_error():
    from mmmae.models.peft import LNTuning
    m = LNTuning(embed_dims=4, num_layers=1)
    with pytest.raises(ValueError, match='LNTuning: Linear has no LayerNorm'):
        m.attach(torch.nn.Linear(2, 2))
