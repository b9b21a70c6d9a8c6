import pytest
import torch

from mmmae.models.prompts import ModalityAwarePrompt
from mmmae.registry import MODELS


def _backbone(adapters=None, **prompt):
    p = dict(type='ModalityAwarePrompt', length=2, dropout=0.)
    p.update(prompt)
    cfg = dict(type='MultiViT', arch='tiny', img_size=32, out_indices=(0, 1),
               frozen=True, prompt=p)
    if adapters is not None:
        cfg['input_adapters'] = adapters
    return MODELS.build(cfg)


def _inputs(*names, batch=2):
    shapes = dict(rgb=(3, 32, 32), depth=(1, 32, 32))
    return {n: torch.randn(batch, *shapes[n]) for n in names}


@pytest.mark.parametrize('names,groups', [
    (('rgb', ), ['modality.rgb']),
    (('depth', ), ['modality.depth']),
    (('rgb', 'depth'), ['modality.rgb', 'modality.depth']),
])
def test_modalities_present_select_the_prompt_sets(names, groups):
    model = _backbone()
    feats = model.forward_features(_inputs(*names))
    layout = feats['layout']
    assert list(layout.prompts) == groups
    n_prompt = 2 * len(names)
    assert layout.num_prompt == n_prompt
    assert feats['tokens'][0].shape[1] == n_prompt + 4 * len(names) + 1


def test_subset_bias_conditions_the_same_modality_prompts():
    model = _backbone()
    prompt = model.prompt
    assert sorted(prompt.subset_bias) == ['depth', 'rgb', 'rgb+depth']
    with torch.no_grad():
        prompt.subset_bias['rgb'].fill_(1.)
        prompt.subset_bias['rgb+depth'].fill_(-1.)
    seen = []
    model.blocks[0].register_forward_pre_hook(
        lambda m, a: seen.append(a[0].detach().clone()))
    model.forward_features(_inputs('rgb'))
    model.forward_features(_inputs('rgb', 'depth'))
    rgb_alone, rgb_with_depth = seen[0][:, :2], seen[1][:, :2]
    base = prompt.modality_prompts['rgb'][0]
    torch.testing.assert_close(rgb_alone[0], base + 1)
    torch.testing.assert_close(rgb_with_depth[0], base - 1)
    torch.testing.assert_close(seen[1][0, 2:4],
                               prompt.modality_prompts['depth'][0] - 1)


def test_deep_keeps_the_length_and_gradients_reach_present_sets_only():
    model = _backbone()
    seen = []
    for block in model.blocks:
        block.register_forward_pre_hook(
            lambda m, a: seen.append(a[0].shape[1]))
    out = model(_inputs('rgb'))
    assert seen == [2 + 4 + 1] * 2
    out[-1].sum().backward()
    p = model.prompt
    assert p.modality_prompts['rgb'].grad.abs().sum() > 0
    assert p.modality_prompts['depth'].grad is None
    assert p.subset_bias['rgb'].grad.abs().sum() > 0
    assert p.subset_bias['rgb+depth'].grad is None


def test_modality_without_prompts_is_an_error():
    adapters = dict(rgb=dict(type='PatchedInputAdapter', in_channels=3),
                    depth=dict(type='PatchedInputAdapter', in_channels=1))
    model = _backbone(adapters, modalities=('rgb', ))
    with pytest.raises(KeyError,
                       match=r"modality \['depth'\].*cover \['rgb'\]"):
        model(_inputs('rgb', 'depth'))
    with pytest.raises(ValueError, match='max_length'):
        ModalityAwarePrompt(length=300, embed_dims=8, num_layers=2)
