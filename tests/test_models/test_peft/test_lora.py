"""LoRA: the loralib update, zero start, merge/unmerge, freezing, deltas."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmmae.models.backbones import MultiViT
from mmmae.models.peft import LoRA, MergeError
from mmmae.utils.delta_checkpoint import make_delta


def _vit(peft=None, **kwargs):
    torch.manual_seed(0)
    return MultiViT(arch='tiny', patch_size=8, img_size=32, peft=peft,
                    **kwargs)


def _inputs():
    g = torch.Generator().manual_seed(1)
    return dict(rgb=torch.randn(2, 3, 32, 32, generator=g),
                depth=torch.randn(2, 1, 32, 32, generator=g))


def _randomise_b(vit):
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for branch in vit.peft.branches.values():
            branch.lora_B.copy_(
                0.05 * torch.randn(branch.lora_B.shape, generator=g))


def test_targets_default_to_qkv_proj_and_mlp_of_every_block():
    vit = _vit(dict(type='LoRA', rank=4))
    assert vit.peft.layer_names == [
        f'blocks.{i}.{n}' for i in range(2)
        for n in ('attn.qkv', 'attn.proj', 'mlp.fc1', 'mlp.fc2')
    ]
    qkv = vit.peft.branches['blocks_0_attn_qkv']
    # loralib MergedLinear(enable_lora=[True]*3): A (3r, in), B (3D, r).
    assert qkv.lora_A.shape == (12, 32) and qkv.lora_B.shape == (96, 4)
    assert qkv.groups == 3 and vit.peft.branches['blocks_0_mlp_fc1'].groups == 1
    assert qkv.scaling == 16 / 4


def test_init_is_kaiming_uniform_a_and_zero_b_so_step_0_is_the_base():
    vit = _vit(dict(type='LoRA', rank=4)).eval()
    plain = _vit().eval()
    plain.load_state_dict({k: v for k, v in vit.state_dict().items()
                           if not k.startswith('peft.')})
    for branch in vit.peft.branches.values():
        assert torch.count_nonzero(branch.lora_B) == 0
        bound = 1 / math.sqrt(branch.lora_A.shape[1])  # kaiming a=sqrt(5)
        assert branch.lora_A.abs().max() <= bound
        assert branch.lora_A.abs().max() > 0.8 * bound
    x = _inputs()
    with torch.no_grad():
        torch.testing.assert_close(vit(x)[0], plain(x)[0], rtol=0, atol=0)


def test_update_is_per_slice_low_rank_as_mergedlinear():
    vit = _vit(dict(type='LoRA', rank=2, alpha=6)).eval()
    _randomise_b(vit)
    layer = vit.blocks[0].attn.qkv
    branch = vit.peft.branches['blocks_0_attn_qkv']
    A = branch.lora_A.detach().view(3, 2, 32)
    B = branch.lora_B.detach().view(3, 32, 2)
    # Slice g of the output sees only its own B_g A_g (scale alpha/r = 3).
    delta = torch.cat([B[g] @ A[g] for g in range(3)]) * 3.
    x = torch.randn(5, 32)
    with torch.no_grad():
        want = F.linear(x, layer.weight + delta, layer.bias)
        torch.testing.assert_close(layer(x), want, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(branch.delta_weight(), delta)


def test_merge_gives_the_same_outputs_and_unmerge_restores_the_weights():
    vit = _vit(dict(type='LoRA', rank=4)).eval()
    _randomise_b(vit)
    weights = {n: p.detach().clone() for n, p in vit.named_parameters()}
    x = _inputs()
    with torch.no_grad():
        unmerged = vit(x)[0]
        vit.peft.merge()
        assert vit.peft.is_merged()
        merged = vit(x)[0]
        assert not torch.equal(vit.blocks[0].attn.qkv.weight,
                               weights['blocks.0.attn.qkv.weight'])
        vit.peft.unmerge()
        again = vit(x)[0]
    torch.testing.assert_close(merged, unmerged, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(unmerged, _vit().eval()(x)[0])
    for n, p in vit.named_parameters():
        assert torch.equal(p, weights[n]), n  # bit for bit
    torch.testing.assert_close(again, unmerged, rtol=0, atol=0)


def test_merging_twice_and_unmerging_unmerged_name_the_layer():
    vit = _vit(dict(type='LoRA', rank=4))
    with pytest.raises(MergeError, match='"blocks.0.attn.qkv" is not merged'):
        vit.peft.unmerge()
    vit.peft.merge()
    with pytest.raises(MergeError,
                       match='"blocks.0.attn.qkv" is already merged'):
        vit.peft.merge()


def test_frozen_backbone_trains_only_lora_and_keeps_dropout_in_lora():
    vit = _vit(dict(type='LoRA', rank=4, dropout=0.5), frozen=True,
               drop_rate=0.3)
    vit.train()
    trainable = [n for n, p in vit.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith('peft.branches.') for n in trainable)
    assert not vit.blocks[0].training and vit.peft.training
    assert vit.peft.branches['blocks_0_mlp_fc1'].dropout.training
    frozen = {n: p.detach().clone() for n, p in vit.named_parameters()
              if not p.requires_grad}
    opt = torch.optim.SGD([p for p in vit.parameters() if p.requires_grad],
                          lr=0.1)
    # Two steps: B moves in the first, then A gets a gradient too.
    for _ in range(2):
        opt.zero_grad()
        vit(_inputs())[0].square().mean().backward()
        opt.step()
    for n, p in vit.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), n
    branch = vit.peft.branches['blocks_1_attn_qkv']
    assert branch.lora_B.abs().sum() > 0 and branch.lora_A.grad.abs().sum() > 0


def test_delta_checkpoint_holds_only_the_lora_parameters():
    vit = _vit(dict(type='LoRA', rank=4), frozen=True)
    ckpt = make_delta(dict(state_dict=vit.state_dict()), vit, dict(x=1))
    params = {n for n, _ in vit.named_parameters()}
    kept = [k for k in ckpt['state_dict'] if k in params]
    assert kept and all(k.startswith('peft.branches.') for k in kept)
    assert len(kept) == 2 * 8  # A and B of 4 layers x 2 blocks


def test_bad_config():
    with pytest.raises(ValueError, match='rank=0'):
        LoRA(rank=0, embed_dims=32, num_layers=2)
    with pytest.raises(ValueError, match=r"'blocks\\\\.\\\\d\+\\\\.mlp\\\\.fc3'"
                                         '.* matches no layer'):
        _vit(dict(type='LoRA', targets=[r'blocks\.\d+\.mlp\.fc3']))
    with pytest.raises(TypeError, match='"blocks.0.mlp" .*has no weight'):
        _vit(dict(type='LoRA', targets=[r'blocks\.\d+\.mlp']))
