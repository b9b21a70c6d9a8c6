"""AdaptFormer and Houlsby adapters on the frozen MultiViT."""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

from mmmae.models.backbones import MultiViT
from mmmae.models.peft import MergeError
from mmmae.models.peft.adapters import AdaptFormer, HoulsbyAdapter
from mmmae.utils.delta_checkpoint import base_record, make_delta

D = 32


def _vit(peft=None, seed=0, **kwargs):
    torch.manual_seed(seed)
    return MultiViT(arch='tiny', patch_size=8, img_size=32, out_indices=(0, 1),
                    peft=peft, **kwargs)


def _inputs():
    g = torch.Generator().manual_seed(1)
    return dict(rgb=torch.randn(2, 3, 32, 32, generator=g),
                depth=torch.randn(2, 1, 32, 32, generator=g))


def _outputs(vit):
    vit.eval()
    with torch.no_grad():
        return vit(_inputs())


def _with_plain_weights(peft):
    """A backbone with ``peft`` whose frozen weights equal ``_vit()``'s."""
    plain = _vit()
    vit = _vit(peft=peft, seed=1)
    missing, unexpected = vit.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected
    assert all(k.startswith('peft.') for k in missing)
    return plain, vit


def test_adaptformer_step0_equals_base_exactly():
    plain, vit = _with_plain_weights(dict(type='AdaptFormer', bottleneck=8))
    for a, b in zip(_outputs(plain), _outputs(vit)):
        assert torch.equal(a, b)


def test_houlsby_step0_is_near_identity():
    plain, vit = _with_plain_weights(dict(type='HoulsbyAdapter',
                                          bottleneck=8))
    for a, b in zip(_outputs(plain), _outputs(vit)):
        assert not torch.equal(a, b)  # the 1e-3 init is not zero
        torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3)


def test_adaptformer_is_the_reference_block():
    """x + mlp(norm2(x)) + 0.1 * up(relu(down(x))) after attention."""
    vit = _vit(peft=dict(type='AdaptFormer', bottleneck=8), frozen=True)
    adapter = vit.peft.adapters['blocks_0']
    torch.nn.init.normal_(adapter.up.weight)
    torch.nn.init.normal_(adapter.up.bias)
    vit.eval()
    x = torch.randn(2, 5, D)
    block = vit.blocks[0]
    with torch.no_grad():
        got = block(x)
        vit.peft.remove()  # the plain sub-layers from here on
        h = x + block.attn(block.norm1(x))
        branch = F.linear(F.relu(F.linear(h, adapter.down.weight,
                                          adapter.down.bias)),
                          adapter.up.weight, adapter.up.bias)
        want = h + block.mlp(block.norm2(h)) + 0.1 * branch
    torch.testing.assert_close(got, want)


def test_adaptformer_init_and_defaults_are_the_references():
    vit = _vit(peft=dict(type='AdaptFormer'))
    peft = vit.peft
    assert (peft.bottleneck, peft.scale, peft.dropout) == (64, 0.1, 0.1)
    assert sorted(peft.adapters) == ['blocks_0', 'blocks_1']
    a = peft.adapters['blocks_0']
    assert a.down.weight.shape == (64, D)
    assert isinstance(a.act, torch.nn.ReLU)
    assert a.dropout.p == 0.1
    for t in (a.down.bias, a.up.weight, a.up.bias):
        assert torch.count_nonzero(t) == 0
    # kaiming_uniform_(a=sqrt(5)) on fan_in D: bound 1 / sqrt(D).
    bound = 1 / math.sqrt(D)
    assert a.down.weight.abs().max() <= bound
    assert a.down.weight.std() > bound / 3


def test_houlsby_is_the_reference_adapter():
    vit = _vit(peft=dict(type='HoulsbyAdapter', bottleneck=8), frozen=True)
    peft = vit.peft
    assert sorted(peft.adapters) == ['blocks_0_attn', 'blocks_0_mlp',
                                     'blocks_1_attn', 'blocks_1_mlp']
    a = peft.adapters['blocks_1_mlp']
    for w in (a.down.weight, a.up.weight):
        assert w.abs().max() <= 2e-3 and w.std() > 3e-4
    assert torch.count_nonzero(a.down.bias) == 0
    torch.nn.init.normal_(a.up.weight)
    vit.eval()
    x = torch.randn(2, 5, D)
    block = vit.blocks[1]
    with torch.no_grad():
        got = block(x)
        attn, mlp = vit.peft.adapters['blocks_1_attn'], a
        vit.peft.remove()  # the plain sub-layers from here on
        h = block.attn(block.norm1(x))
        h = x + h + attn.up(F.gelu(attn.down(h), approximate='tanh'))
        m = block.mlp.fc2(F.gelu(block.mlp.fc1(block.norm2(h))))
        m = m + mlp.up(F.gelu(mlp.down(m), approximate='tanh'))
        want = h + m
    torch.testing.assert_close(got, want)


@pytest.mark.parametrize('peft,extra', [
    (dict(type='AdaptFormer', bottleneck=8), set()),
    (dict(type='HoulsbyAdapter', bottleneck=8),
     {f'blocks.{i}.norm{j}.{p}' for i in (0, 1) for j in (1, 2)
      for p in ('weight', 'bias')}),
    (dict(type='HoulsbyAdapter', bottleneck=8, train_norms=False), set()),
])
def test_frozen_is_frozen_and_delta_holds_only_the_method(peft, extra):
    vit = _vit(peft=peft, frozen=True, drop_rate=0.5)
    trainable = {n for n, p in vit.named_parameters() if p.requires_grad}
    assert trainable == {n for n in trainable if n.startswith('peft.')} \
        | extra
    assert any(n.startswith('peft.adapters.') for n in trainable)
    vit.train()
    assert vit.peft.training and not vit.blocks.training
    before = {n: p.detach().clone() for n, p in vit.named_parameters()}
    opt = torch.optim.SGD([p for p in vit.parameters() if p.requires_grad],
                          lr=0.1)
    loss = sum(o.square().mean() for o in vit(_inputs()))
    loss.backward()
    opt.step()
    for n, p in vit.named_parameters():
        changed = not torch.equal(before[n], p)
        if n in trainable and n.endswith('up.weight'):
            assert changed, n
        if n not in trainable:
            assert not changed, n
    ckpt = make_delta(dict(state_dict=vit.state_dict(), meta={}), vit,
                      base_record(vit, []))
    saved = {k for k in ckpt['state_dict']
             if k in dict(vit.named_parameters())}
    assert saved == trainable


def test_deepcopy_binds_hooks_to_the_copy():
    vit = _vit(peft=dict(type='AdaptFormer', bottleneck=8))
    twin = copy.deepcopy(vit)
    torch.nn.init.normal_(twin.peft.adapters['blocks_1'].up.weight)
    assert not torch.equal(_outputs(vit)[-1], _outputs(twin)[-1])
    torch.nn.init.zeros_(twin.peft.adapters['blocks_1'].up.weight)
    torch.testing.assert_close(_outputs(vit)[-1], _outputs(twin)[-1])


def test_adapters_cannot_merge():
    for peft in (dict(type='AdaptFormer'), dict(type='HoulsbyAdapter')):
        with pytest.raises(MergeError, match='cannot be merged'):
            _vit(peft=peft).peft.merge()


def test_bad_targets_name_the_pattern():
    with pytest.raises(ValueError, match=r"blocks\\\\.9"):
        _vit(peft=dict(type='AdaptFormer', targets=r'blocks\.9'))
    with pytest.raises(ValueError, match=r"decoder"):
        _vit(peft=dict(type='HoulsbyAdapter', targets=('decoder', )))
    with pytest.raises(TypeError, match='blocks.0.mlp'):
        _vit(peft=dict(type='AdaptFormer', targets=r'blocks\.0\.mlp'))
    with pytest.raises(ValueError, match='blocks.0.mlp.fc1.*128 channels'):
        _vit(peft=dict(type='HoulsbyAdapter', targets=r'blocks\.0\.mlp\.fc1'))
    with pytest.raises(ValueError, match='bottleneck=0'):
        AdaptFormer(bottleneck=0, embed_dims=D, num_layers=2)
    assert HoulsbyAdapter(embed_dims=D, num_layers=2).trainable_patterns()


def test_module_apply_and_to_still_work():
    """``nn.Module.apply(fn)`` reaches the method (mmengine's ``to`` uses
    it); the contract attaches with ``attach(backbone)``."""
    vit = _vit(peft=dict(type='AdaptFormer', bottleneck=8))
    seen = []
    vit.apply(lambda m: seen.append(type(m).__name__))
    assert 'AdaptFormer' in seen and 'Bottleneck' in seen
    vit.to('cpu')
    with pytest.raises(RuntimeError, match='already attached'):
        vit.peft.attach(vit)
