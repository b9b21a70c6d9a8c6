"""MultiViT ``with_cp``: the same gradients as without, for full
fine-tuning, deep prompts on a frozen backbone, LoRA and MTLoRA; blocks are
really recomputed; a model without blocks refuses it."""
import pytest
import torch

from mmmae.registry import MODELS

ARCH = dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=2.)

CASES = {
    # drop_path > 0: the recomputation must redraw the same masks.
    'full': dict(drop_path_rate=0.2),
    'deep_prompt': dict(frozen=True,
                        prompt=dict(type='DeepPrompt', length=3,
                                    dropout=0.1)),
    'lora': dict(frozen=True, peft=dict(type='LoRA', rank=2, dropout=0.1)),
    'mtlora': dict(frozen=True, out_indices=(0, 1),
                   peft=dict(type='MTLoRA', tasks=('a', 'b'), rank=2,
                             task_rank=2)),
    'lora_and_prompt': dict(frozen=True,
                            peft=dict(type='LoRA', rank=2),
                            prompt=dict(type='DeepPrompt', length=2)),
}


def _build(case, with_cp):
    torch.manual_seed(0)
    return MODELS.build(dict(type='MultiViT', arch=ARCH, img_size=32,
                             with_cp=with_cp, **CASES[case])).train()


def _perturb(vit):
    """LoRA's B starts at zero: make every trainable tensor non-trivial so
    gradients flow through all of them."""
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for name, p in vit.named_parameters():
            if 'lora_B' in name:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def _step(vit, case):
    torch.manual_seed(1)  # the same dropout / drop-path draws
    g = torch.Generator().manual_seed(2)
    inputs = dict(rgb=torch.randn(2, 3, 32, 32, generator=g),
                  depth=torch.randn(2, 1, 32, 32, generator=g))
    tasks = ('a', 'b') if case == 'mtlora' else None
    feats = vit.forward_features(inputs, tasks=tasks)
    maps = []
    for t in tasks or (None, ):
        maps += vit.tokens_to_maps(feats['tokens'], feats['layout'], t)
    loss = sum((m * m).mean() + m.mean() for m in maps)
    params = {n: p for n, p in vit.named_parameters() if p.requires_grad}
    grads = torch.autograd.grad(loss, list(params.values()),
                                allow_unused=True)
    return loss.detach(), dict(zip(params, grads))


@pytest.mark.parametrize('case', sorted(CASES))
def test_gradients_equal_without_checkpointing(case):
    plain, cp = _build(case, False), _build(case, True)
    for vit in (plain, cp):
        _perturb(vit)
    ref_sd, cp_sd = plain.state_dict(), cp.state_dict()
    assert all(torch.equal(ref_sd[k], cp_sd[k]) for k in ref_sd)
    recomputed = []
    cp.blocks[0].register_forward_pre_hook(lambda *a: recomputed.append(1))
    loss_ref, g_ref = _step(plain, case)
    loss_cp, g_cp = _step(cp, case)
    # block 0 ran in the forward and again in the backward pass
    assert len(recomputed) == 2
    torch.testing.assert_close(loss_cp, loss_ref, rtol=0, atol=0)
    if case == 'deep_prompt':
        assert all(k.startswith('prompt.') for k in g_ref)
    # dicts name the parameter on a mismatch; None: unused in both
    torch.testing.assert_close(g_cp, g_ref, rtol=1e-5, atol=1e-6)
    assert any(g is not None for g in g_ref.values())


def _bytes_kept_inside_blocks(vit, case):
    """Bytes autograd keeps for backward from inside the blocks."""
    inside, total = [False], []
    for block in vit.blocks:
        block.register_forward_pre_hook(lambda *a: inside.__setitem__(0, 1))
        block.register_forward_hook(lambda *a: inside.__setitem__(0, 0))

    def pack(t):
        if inside[0]:
            total.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        _step(vit, case)
    return sum(total)


@pytest.mark.parametrize('case', ['full', 'deep_prompt', 'lora'])
def test_checkpointed_blocks_keep_no_activations(case):
    # A checkpointed block's tensors go to the checkpoint's own hooks (and
    # are dropped); a plain block keeps its internals for the backward.
    assert _bytes_kept_inside_blocks(_build(case, False), case) > 0
    assert _bytes_kept_inside_blocks(_build(case, True), case) == 0


def test_no_checkpoint_without_grad_or_in_eval():
    vit = _build('deep_prompt', True)
    calls = []
    vit.blocks[0].register_forward_pre_hook(lambda *a: calls.append(1))
    x = dict(rgb=torch.randn(1, 3, 32, 32))
    with torch.no_grad():
        vit(x)
    vit.eval()
    vit(x)[0].sum().backward()  # eval: plain blocks, no recomputation
    assert len(calls) == 2


def test_with_cp_on_a_model_without_blocks_names_it():
    arch = dict(ARCH, depth=0)
    with pytest.raises(ValueError, match=r'MultiViT \(depth=0\).*with_cp'):
        MODELS.build(dict(type='MultiViT', arch=arch, with_cp=True))
