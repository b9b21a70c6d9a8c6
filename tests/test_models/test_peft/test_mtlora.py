"""MTLoRA: TA-LoRA everywhere, TS-LoRA at the taps, one pass for all tasks."""
import pytest
import torch

from mmmae.models.backbones import MultiViT
from mmmae.models.peft import MTLoRA

TASKS = ('semseg', 'depth')


def _vit(**kwargs):
    torch.manual_seed(0)
    peft = dict(type='MTLoRA', tasks=TASKS, rank=4, task_rank=2)
    peft.update(kwargs.pop('peft', {}))
    return MultiViT(arch='tiny', patch_size=8, img_size=32, peft=peft,
                    out_indices=kwargs.pop('out_indices', (0, 1)), **kwargs)


def _inputs():
    g = torch.Generator().manual_seed(1)
    return dict(rgb=torch.randn(2, 3, 32, 32, generator=g),
                depth=torch.randn(2, 1, 32, 32, generator=g))


def _fill(branches, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for b in branches:
            b.lora_B.copy_(0.1 * torch.randn(b.lora_B.shape, generator=g))


def _maps(vit, tasks=TASKS):
    feats = vit.forward_features(_inputs(), tasks=tasks)
    maps = {t: vit.tokens_to_maps(feats['tokens'], feats['layout'], t)
            for t in tasks}
    maps[None] = vit.tokens_to_maps(feats['tokens'], feats['layout'])
    return maps


def test_modules_follow_the_reference_layout():
    vit = _vit(out_indices=(1, ))
    peft = vit.peft
    assert peft.task_blocks == (1, )
    # TA on qkv (one pair, not split), proj, fc1, fc2 of every block.
    assert sorted(peft.shared) == sorted(
        f'blocks_{i}_{n}' for i in range(2)
        for n in ('attn_qkv', 'attn_proj', 'mlp_fc1', 'mlp_fc2'))
    assert peft.shared['blocks_0_attn_qkv'].lora_A.shape == (4, 32)
    # TS only on proj, fc1, fc2 of the task block, per task.
    for t in TASKS:
        assert sorted(peft.task_lora[t]) == [
            'blocks_1_attn_proj', 'blocks_1_mlp_fc1', 'blocks_1_mlp_fc2']
        assert peft.task_lora[t]['blocks_1_mlp_fc1'].lora_A.shape == (2, 32)
    assert peft.shared['blocks_0_mlp_fc1'].scaling == 4.  # plain multiplier


def test_one_backbone_pass_serves_every_task():
    vit = _vit().eval()
    calls = []
    for blk in vit.blocks:
        blk.register_forward_hook(lambda *a: calls.append(1))
    feats = vit.forward_features(_inputs(), tasks=TASKS)
    assert len(calls) == len(vit.blocks)
    layout = feats['layout']
    assert list(layout.prompts) == ['mtlora.semseg', 'mtlora.depth']
    n_patch = layout.num_patch
    assert feats['tokens'][0].shape == (2, 2 * n_patch + n_patch + 1, 32)


def test_step_0_equals_the_frozen_model_for_every_task():
    vit = _vit().eval()
    plain = MultiViT(arch='tiny', patch_size=8, img_size=32,
                     out_indices=(0, 1)).eval()
    plain.load_state_dict({k: v for k, v in vit.state_dict().items()
                           if not k.startswith('peft.')})
    with torch.no_grad():
        maps = _maps(vit)
        want = plain(_inputs())
    for t in (None, ) + TASKS:
        for got, ref in zip(maps[t], want):
            torch.testing.assert_close(got, ref, rtol=0, atol=0)


def test_task_outputs_differ_only_through_their_ts_modules():
    vit = _vit().eval()
    peft = vit.peft
    with torch.no_grad():
        base = _maps(vit)
        # TS of depth only: semseg and shared features do not move.
        _fill(peft.task_lora['depth'].values(), 3)
        after = _maps(vit)
    for i in range(2):
        torch.testing.assert_close(after['semseg'][i], base['semseg'][i])
        torch.testing.assert_close(after[None][i], base[None][i])
        assert not torch.allclose(after['depth'][i], base['depth'][i])
    with torch.no_grad():
        _fill(peft.task_lora['depth'].values(), 0)
        for b in peft.task_lora['depth'].values():
            b.lora_B.zero_()
        # TA only: every task path equals the others (no TS difference).
        _fill(peft.shared.values(), 4)
        ta = _maps(vit)
    for i in range(2):
        torch.testing.assert_close(ta['semseg'][i], ta['depth'][i])
        assert not torch.allclose(ta[None][i], base[None][i])


def test_task_path_follows_the_reference_equations():
    vit = _vit(out_indices=(0, )).eval()
    peft = vit.peft
    _fill(list(peft.shared.values()) +
          [b for t in TASKS for b in peft.task_lora[t].values()], 5)
    x, layout = vit.tokenize(_inputs())
    blk = vit.blocks[0]
    with torch.no_grad():
        feats = vit.forward_features(_inputs(), tasks=('depth', ))
        got = vit.tokens_to_maps(feats['tokens'], feats['layout'], 'depth')
        # By hand: shared attention, then the depth task path.
        ta, ts = peft.shared, peft.task_lora['depth']
        h1 = blk.norm1(x)
        qkv = blk.attn.qkv  # hooked: W x + TA
        B, N, D = x.shape
        q, k, v = qkv(h1).reshape(B, N, 3, 2, 16).permute(2, 0, 3, 1, 4)
        a = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        a = a.transpose(1, 2).reshape(B, N, D)
        lin = torch.nn.functional.linear
        p = blk.attn.proj
        x1 = x + lin(a, p.weight, p.bias) + ta['blocks_0_attn_proj'](a)
        h2 = blk.norm2(x1)
        f1, f2 = blk.mlp.fc1, blk.mlp.fc2
        g_shared = blk.mlp.act(lin(h2, f1.weight, f1.bias) +
                               ta['blocks_0_mlp_fc1'](h2))
        x1_t = x + lin(a, p.weight, p.bias) + ts['blocks_0_attn_proj'](a)
        f1_t = lin(h2, f1.weight, f1.bias) + ts['blocks_0_mlp_fc1'](
            blk.norm2(x1_t))
        f2_t = lin(g_shared, f2.weight, f2.bias) + ts['blocks_0_mlp_fc2'](
            blk.mlp.act(f1_t))
        out_t = x1_t + f2_t
    want = vit._mean_readout(out_t[:, layout.patch_slice], layout)
    torch.testing.assert_close(got[0], want, rtol=1e-5, atol=1e-5)


def test_gradients_reach_ta_and_only_the_task_own_ts():
    vit = _vit(frozen=True)
    vit.train()
    _fill(vit.peft.shared.values(), 6)
    _fill(vit.peft.task_lora['depth'].values(), 7)  # else A has no grad
    sum(m.square().mean() for m in _maps(vit)['depth']).backward()
    peft = vit.peft
    # Zero (semseg tokens share the tapped tensor with depth's), not None.
    assert all(p.grad is None or not p.grad.any()
               for p in peft.task_lora['semseg'].parameters())
    assert all(p.grad is not None and p.grad.abs().sum() > 0
               for p in peft.task_lora['depth'].parameters())
    assert peft.shared['blocks_0_attn_qkv'].lora_B.grad.abs().sum() > 0
    trainable = {n for n, p in vit.named_parameters() if p.requires_grad}
    # The reference also trains norms and the patch embedding.
    assert 'blocks.0.norm1.weight' in trainable
    assert 'input_adapters.rgb.proj.weight' in trainable
    assert 'blocks.0.attn.qkv.weight' not in trainable


def test_per_task_pass_and_bad_tasks():
    vit = _vit().eval()
    feats = vit.forward_features(_inputs(), tasks='depth')
    with pytest.raises(KeyError, match='task "semseg" reads a pass that '
                       r"computed tasks \[.*depth.*\]"):
        vit.tokens_to_maps(feats['tokens'], feats['layout'], 'semseg')
    with pytest.raises(KeyError, match=r"MTLoRA has no task-specific modules"
                       r" for the tasks of this pass \[.normals.\]"):
        vit.forward_features(_inputs(), tasks=('normals', ))
    with pytest.raises(ValueError, match='must also be a task-agnostic'):
        _vit(peft=dict(targets=[r'blocks\.\d+\.attn\.qkv']))
    with pytest.raises(KeyError, match=r"task_rank .* lacks tasks \[.b.\]"):
        MTLoRA(tasks=('a', 'b'), task_rank=dict(a=2), embed_dims=32,
               num_layers=2)
    with pytest.raises(ValueError, match='distinct'):
        MTLoRA(tasks=('a', 'a'), embed_dims=32, num_layers=2)
