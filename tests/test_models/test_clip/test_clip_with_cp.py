"""CLIP towers' ``with_cp``: with the towers frozen and only deep prompts
trained (MaPLe, MmAP, VPT-MT), the gradients equal those without
checkpointing, and the blocks are really recomputed."""
import pytest
import torch

from mmmae.registry import MODELS

TASKS = ('a', 'b')
PROMPTS = {
    'maple': dict(type='MaPLePrompt', num_ctx=2, depth=2,
                  ctx_init='a photo of a'),
    'mmap': dict(type='MmAPPrompt', length=2, depth=2),
    'vpt': dict(type='CLIPVPTPrompt', length=2, depth=2),
}


def _classifier(prompt, with_cp):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='MultiTaskCLIPClassifier', tasks=TASKS,
        class_names=('red', 'green', 'blue'),
        vision_encoder=dict(type='CLIPVisionTransformer', arch='tiny',
                            with_cp=with_cp),
        text_encoder=dict(type='CLIPTextTransformer', arch='tiny',
                          with_cp=with_cp),
        prompt=PROMPTS[prompt])).train()


def _loss_and_grads(model):
    torch.manual_seed(1)
    data = model.fake_batch(4, (32, 32), 'cpu')
    loss = model(**data, mode='loss')['loss_cls']
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    grads = torch.autograd.grad(loss, list(params.values()),
                                allow_unused=True)
    return loss.detach(), dict(zip(params, grads))


@pytest.mark.parametrize('prompt', sorted(PROMPTS))
def test_deep_prompt_gradients_equal_without_checkpointing(prompt):
    plain, cp = _classifier(prompt, False), _classifier(prompt, True)
    # frozen towers run in eval mode; checkpointing follows autograd
    assert not cp.vision_encoder.training
    calls = {'vision': [], 'text': []}
    cp.vision_encoder.blocks[0].register_forward_pre_hook(
        lambda *a: calls['vision'].append(1))
    cp.text_encoder.blocks[0].register_forward_pre_hook(
        lambda *a: calls['text'].append(1))
    loss_ref, g_ref = _loss_and_grads(plain)
    loss_cp, g_cp = _loss_and_grads(cp)
    torch.testing.assert_close(loss_cp, loss_ref, rtol=0, atol=0)
    assert g_ref and all(k.startswith('prompt.') for k in g_ref)
    # dicts name the parameter on a mismatch; None: unused in both
    torch.testing.assert_close(g_cp, g_ref, rtol=1e-5, atol=1e-6)
    assert any(g is not None for g in g_ref.values())
    # one forward of the image tower, and its block 0 again in backward
    assert len(calls['vision']) == 2
    # the text tower runs once per task in the batch, each recomputed when
    # its prompts are learned (MaPLe / MmAP); VPT's text side is constant
    assert len(calls['text']) % 2 == 0 and calls['text']


def test_no_recomputation_under_no_grad():
    model = _classifier('maple', True).eval()
    calls = []
    model.vision_encoder.blocks[0].register_forward_pre_hook(
        lambda *a: calls.append(1))
    with torch.no_grad():
        model(**model.fake_batch(2, (32, 32), 'cpu'), mode='predict')
    assert len(calls) == 1


@pytest.mark.parametrize('tower', ['CLIPVisionTransformer',
                                   'CLIPTextTransformer'])
def test_with_cp_on_a_tower_without_blocks_names_it(tower):
    arch = dict(embed_dims=32, num_layers=0, num_heads=2, patch_size=8,
                img_size=32, out_dims=16, context_length=77,
                vocab_size=49408)
    with pytest.raises(ValueError, match=f'{tower}.*num_layers=0.*with_cp'):
        MODELS.build(dict(type=tower, arch=arch, with_cp=True))
