import math

import pytest
import torch

from mmmae.models.prompts import DeepPrompt, ShallowPrompt
from mmmae.registry import MODELS


def _backbone(prompt, **kwargs):
    cfg = dict(type='MultiViT', arch=dict(embed_dims=32, depth=3, num_heads=2,
                                          mlp_ratio=2.),
               img_size=32, out_indices=(0, 1, 2), frozen=True, prompt=prompt)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _inputs(batch=2):
    return dict(rgb=torch.randn(batch, 3, 32, 32),
                depth=torch.randn(batch, 1, 32, 32))


def _record_block_inputs(backbone):
    seen = []
    for block in backbone.blocks:
        block.register_forward_pre_hook(
            lambda m, args: seen.append(args[0].detach().clone()))
    return seen


def test_init_bound_is_the_papers():
    p = ShallowPrompt(length=4, embed_dims=768, num_layers=12)
    assert p.vpt_init_bound() == pytest.approx(0.0625)
    assert p.vpt_init_bound() == math.sqrt(6 / (3 * 16 * 16 + 768))
    small = DeepPrompt(length=50, embed_dims=32, num_layers=3)
    bound = small.vpt_init_bound()
    assert small.prompt.abs().max() <= bound
    # uniform, not a constant or a normal squeezed into the bound
    assert small.prompt.abs().max() > 0.9 * bound
    assert small.prompt.shape == (3, 50, 32)


def test_shallow_inserts_once_without_position():
    model = _backbone(dict(type='ShallowPrompt', length=3, dropout=0.))
    seen = _record_block_inputs(model)
    feats = model.forward_features(_inputs())
    n_patch = 2 * 4  # 2 modalities x (32/16)^2
    # Inserted once: every block sees 3 prompts + patches + 1 global.
    assert [x.shape[1] for x in seen] == [3 + n_patch + 1] * 3
    # Before block 0 the prompts are the raw parameters: no position added.
    torch.testing.assert_close(seen[0][:, :3],
                               model.prompt.prompt[0].expand(2, -1, -1))
    # Later blocks get the previous block's prompt outputs, not new ones.
    torch.testing.assert_close(seen[1][:, :3], feats['tokens'][0][:, :3])
    assert feats['layout'].prompts == {'vpt': slice(0, 3)}


def test_deep_replaces_prompts_and_keeps_the_length():
    model = _backbone(dict(type='DeepPrompt', length=5, dropout=0.))
    seen = _record_block_inputs(model)
    feats = model.forward_features(_inputs())
    lengths = [x.shape[1] for x in seen]
    assert lengths == [5 + 8 + 1] * 3
    assert [t.shape[1] for t in feats['tokens']] == [14] * 3
    for i, x in enumerate(seen):
        # Each block gets its own fresh prompts (replaced, not accumulated).
        torch.testing.assert_close(x[:, :5],
                                   model.prompt.prompt[i].expand(2, -1, -1))
        if i:
            # The patch tokens are the previous block's outputs.
            torch.testing.assert_close(x[:, 5:], feats['tokens'][i - 1][:, 5:])


def test_deep_prompt_depth_limits_replacement():
    model = _backbone(dict(type='DeepPrompt', length=2, depth=2, dropout=0.))
    seen = _record_block_inputs(model)
    feats = model.forward_features(_inputs())
    torch.testing.assert_close(seen[1][:, :2],
                               model.prompt.prompt[1].expand(2, -1, -1))
    # Block 2 keeps block 1's prompt outputs.
    torch.testing.assert_close(seen[2][:, :2], feats['tokens'][1][:, :2])
    with pytest.raises(ValueError, match='depth=4'):
        _backbone(dict(type='DeepPrompt', length=2, depth=4))


def test_prompt_dropout_is_per_sample_and_off_in_eval():
    model = _backbone(dict(type='ShallowPrompt', length=6, dropout=0.5))
    seen = _record_block_inputs(model)
    model.train()
    model.forward_features(_inputs())
    prompts = seen[0][:, :6]
    assert not torch.equal(prompts[0], prompts[1])
    assert (prompts == 0).any()
    model.eval()
    model.forward_features(_inputs())
    torch.testing.assert_close(seen[3][:, :6],
                               model.prompt.prompt[0].expand(2, -1, -1))


def test_heads_never_see_prompt_tokens():
    model = _backbone(dict(type='DeepPrompt', length=7, dropout=0.))
    feats = model.forward_features(_inputs())
    maps = model.tokens_to_maps(feats['tokens'], feats['layout'])
    layout = feats['layout']
    for x, m in zip(feats['tokens'], maps):
        assert m.shape == (2, 32, 2, 2)
        # Exactly the modalities' patch tokens, averaged: no prompt, no global.
        rgb, depth = (x[:, layout.modalities[k]] for k in ('rgb', 'depth'))
        expected = ((rgb + depth) / 2).transpose(1, 2).reshape(2, 32, 2, 2)
        torch.testing.assert_close(m, expected)


def test_frozen_backbone_stays_in_eval_mode():
    model = _backbone(dict(type='DeepPrompt', length=2, dropout=0.1),
                      drop_path_rate=0.5)
    model.train()
    assert model.prompt.training
    assert not any(m.training for n, m in model.named_modules()
                   if n and not n.startswith('prompt'))
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ['prompt.prompt']
    # No drop-path noise: two training-mode passes agree without dropout.
    model.prompt.dropout.p = 0.
    x = _inputs()
    torch.testing.assert_close(model(x), model(x))


@pytest.mark.parametrize('cls', ['ShallowPrompt', 'DeepPrompt'])
def test_prompt_longer_than_allowed(cls):
    with pytest.raises(ValueError, match=f'{cls}.*600.*max_length=512'):
        _backbone(dict(type=cls, length=600))
    with pytest.raises(ValueError, match='at least 1'):
        _backbone(dict(type=cls, length=0))
    # The limit is a config value.
    _backbone(dict(type=cls, length=600, max_length=600))


def test_shallow_has_no_prompt_dropout_by_default():
    """The VPT authors use no dropout for shallow prompts (KMnP/vpt
    demo.ipynb); deep keeps the paper's 0.1."""
    shallow = MODELS.build(dict(type='ShallowPrompt', length=4,
                                embed_dims=32, num_layers=2)).train()
    assert shallow.dropout.p == 0.
    x = torch.randn(2, 5, 32)
    from mmmae.models.layers import TokenLayout
    out, _ = shallow.before_block(0, x, TokenLayout.build({'rgb': (1, 5)}),
                                  None)
    torch.testing.assert_close(out[:, :4],
                               shallow.prompt[0].expand(2, -1, -1))
    assert DeepPrompt(length=4, embed_dims=32, num_layers=2).dropout.p == 0.1


@pytest.mark.parametrize('name', [
    'vpt-shallow_multimae-b_p50_1xb8-amp-20k_nyuv2-640x640.py',
    'vpt-shallow_multimae-b_p50-light_1xb8-amp-20k_nyuv2-640x640.py',
    'vpt-shallow_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py'])
def test_shallow_configs_use_no_prompt_dropout(name):
    from pathlib import Path

    from mmengine.config import Config
    root = Path(__file__).parents[3]
    prompt = Config.fromfile(root / 'configs' / 'prompt' /
                             name).model.backbone.prompt
    assert prompt.type == 'ShallowPrompt'
    assert prompt.get('dropout', 0.) == 0.
