import pytest
import torch
import torch.nn as nn

from mmmae.models.prompts import BasePrompt
from mmmae.registry import MODELS

ADAPTERS = dict(
    rgb=dict(type='PatchedInputAdapter', in_channels=3),
    depth=dict(type='PatchedInputAdapter', in_channels=1),
    semseg=dict(type='SemSegInputAdapter', num_classes=5))


@MODELS.register_module(name='_TestPrompt', force=True)
class _TestPrompt(BasePrompt):
    """Trivial plugin: inserts ``length`` tokens before block 0 and, when
    ``deep``, replaces them before every later block; adds an aux loss."""

    def __init__(self, embed_dims, num_layers, patch_size=16, length=3,
                 deep=False):
        super().__init__(embed_dims, num_layers, patch_size)
        self.deep = deep
        self.tokens = nn.Parameter(torch.randn(num_layers, length, embed_dims))
        self.seen = []

    def before_block(self, index, x, layout, ctx):
        self.seen.append((index, layout.num_prompt, ctx.modalities))
        if index == 0 or self.deep:
            B = x.shape[0]
            x, layout = self.replace_prompts(
                x, layout, {'p': self.tokens[index].expand(B, -1, -1)})
        if index == 0:
            ctx.losses['loss_test_prompt'] = self.tokens.pow(2).mean()
        return x, layout


def _build(**kwargs):
    cfg = dict(type='MultiViT', arch='tiny', img_size=32,
               input_adapters=ADAPTERS)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _inputs(B=2, H=32, W=32, names=('rgb', 'depth', 'semseg')):
    all_inputs = dict(rgb=torch.randn(B, 3, H, W),
                      depth=torch.randn(B, 1, H, W),
                      semseg=torch.randint(0, 5, (B, H // 4, W // 4)))
    return {k: all_inputs[k] for k in names}


@pytest.mark.parametrize('size', [(32, 32), (48, 32), (64, 80)])
@pytest.mark.parametrize('names', [('rgb', ), ('depth', ), ('semseg', ),
                                   ('rgb', 'depth'), ('rgb', 'depth',
                                                      'semseg')])
def test_forward_any_size_and_subset(size, names):
    model = _build(out_indices=(0, 1))
    feats = model(_inputs(2, *size, names))
    h, w = size[0] // 16, size[1] // 16
    assert [f.shape for f in feats] == [(2, 32, h, w)] * 2
    x, layout = model.tokenize(_inputs(2, *size, names))
    assert list(layout.modalities) == list(names)
    assert x.shape == (2, len(names) * h * w + 1, 32)


def test_bad_inputs_name_the_culprit():
    model = _build()
    with pytest.raises(KeyError, match="normals"):
        model(dict(normals=torch.randn(1, 3, 32, 32)))
    with pytest.raises(ValueError, match=r'"depth".*\(B, 1, H, W\).*'
                       r'\(1, 3, 32, 32\)'):
        model(dict(depth=torch.randn(1, 3, 32, 32)))
    with pytest.raises(ValueError, match=r'"rgb".*33x32.*patch size 16'):
        model(dict(rgb=torch.randn(1, 3, 33, 32)))
    with pytest.raises(ValueError, match=r'"semseg".*label 7'):
        model(dict(semseg=torch.full((1, 8, 8), 7)))
    with pytest.raises(ValueError, match='batch'):
        model(dict(rgb=torch.randn(2, 3, 32, 32),
                   depth=torch.randn(1, 1, 32, 32)))
    with pytest.raises(ValueError, match='no input modality'):
        model({})


def test_ignore_label_uses_its_own_embedding_row():
    model = _build()
    x = torch.full((1, 8, 8), 255)
    assert torch.isfinite(model(dict(semseg=x))[0]).all()
    table = model.input_adapters['semseg'].class_emb
    assert table.num_embeddings == 6


def test_frozen_backbone_stays_frozen_and_in_eval():
    model = _build(frozen=True, drop_path_rate=0.5,
                   trainable_patterns=(r'norm1\.',),
                   prompt=dict(type='_TestPrompt', deep=True))
    model.train()
    assert model.prompt.training
    assert not model.blocks.training and not model.blocks[0].training
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {'prompt.tokens', 'blocks.0.norm1.weight',
                         'blocks.0.norm1.bias', 'blocks.1.norm1.weight',
                         'blocks.1.norm1.bias'}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                          lr=1.)
    # Frozen and in eval mode: drop-path does not fire, output is stable.
    inputs = _inputs()
    out1 = model(inputs)[0]
    out2 = model(inputs)[0]
    assert torch.equal(out1, out2)
    feats = model.forward_features(inputs)
    loss = feats['tokens'][-1].pow(2).mean()
    loss.backward()
    opt.step()
    for n, p in model.named_parameters():
        if n in trainable:
            assert not torch.equal(p, before[n]), n
        else:
            assert torch.equal(p, before[n]), n


def test_shallow_prompt_is_inserted_once_and_stripped():
    model = _build(prompt=dict(type='_TestPrompt', length=3))
    plain = _build()
    plain.load_state_dict(model.state_dict(), strict=False)
    inputs = _inputs(names=('rgb', 'depth'))
    feats = model.forward_features(inputs)
    layout = feats['layout']
    assert layout.num_prompt == 3
    assert feats['tokens'][-1].shape == (2, 3 + 8 + 1, 32)
    # The hook saw: no prompt before block 0, 3 tokens before block 1.
    assert [s[:2] for s in model.prompt.seen] == [(0, 0), (1, 3)]
    assert model.prompt.seen[0][2] == ('rgb', 'depth')
    maps = model.tokens_to_maps(feats['tokens'], layout)
    assert maps[0].shape == (2, 32, 2, 2)  # prompts stripped
    assert not torch.allclose(maps[0], plain(inputs)[0])
    assert 'loss_test_prompt' in feats['aux_losses']


def test_deep_prompt_replaces_tokens_before_every_block():
    model = _build(prompt=dict(type='_TestPrompt', length=2, deep=True))
    entering = {}
    for i, block in enumerate(model.blocks):
        block.register_forward_pre_hook(
            lambda mod, args, i=i: entering.__setitem__(i, args[0]))
    feats = model.forward_features(_inputs())
    assert [s[:2] for s in model.prompt.seen] == [(0, 0), (1, 2)]
    for i in range(2):
        assert torch.equal(entering[i][:, :2],
                           model.prompt.tokens[i].expand(2, -1, -1))
        assert entering[i].shape[1] == 2 + 12 + 1
    # Aux loss reaches the output and back-propagates to the prompt.
    feats['aux_losses']['loss_test_prompt'].backward()
    assert model.prompt.tokens.grad.abs().sum() > 0


def test_layer_depth_for_layerwise_decay():
    model = _build()
    assert model.get_layer_depth('backbone.input_adapters.rgb.proj.weight',
                                 'backbone.') == (0, 4)
    assert model.get_layer_depth('backbone.blocks.1.attn.qkv.weight',
                                 'backbone.') == (2, 4)
    assert model.get_layer_depth('decode_head.conv.weight',
                                 'backbone.') == (3, 4)
    with pytest.raises(IndexError, match='out index 5'):
        _build(out_indices=(5, ))
