import os.path as osp

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.models.pretrainers import convert_multimae
from mmmae.registry import MODELS

# Reference DPT fixture: tests/data/multimae_heads/README.md
FIXTURE = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))), 'data', 'multimae_heads', 'dpt_depth_rgb.pt')


def _head(**kwargs):
    cfg = dict(type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1),
               channels=16, post_process_channels=(8, 8, 16, 16),
               head_channels=(8, 4))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _feats(batch=2, grid=(2, 2), n=2, requires_grad=False):
    return tuple(
        torch.randn(batch, 32, *grid, requires_grad=requires_grad)
        for _ in range(n))


def test_dpt_full_resolution_positive_depth():
    head = _head(depth_act='softplus')
    out = head(_feats(grid=(2, 3)))
    # 2x3 tokens of 16 px patches -> a 32x48 map
    assert out.shape == (2, 1, 32, 48)
    assert (out > 0).all()  # softplus


def test_dpt_default_is_the_references_raw_regression():
    head = _head()
    assert head.depth_act == 'none'
    feats = _feats()
    with torch.no_grad():
        head.last_layer.bias.fill_(-5.)
        out = head(feats)
    assert (out < 0).any()  # nothing bounds or shifts the raw value
    with torch.no_grad():
        soft = _head(depth_act='softplus')
        soft.load_state_dict(head.state_dict())
        torch.testing.assert_close(soft(feats),
                                   torch.nn.functional.softplus(out))


def test_dpt_uses_every_tapped_map():
    head = _head(in_index=(0, 1, 2, 3))
    feats = _feats(n=4, requires_grad=True)
    head(feats).sum().backward()
    for i, f in enumerate(feats):
        assert f.grad is not None and f.grad.abs().sum() > 0, i


def test_dpt_light_variant_is_smaller():
    full = MODELS.build(dict(type='MultiMAEDPTHead', embed_dims=768))
    light = MODELS.build(
        dict(type='MultiMAEDPTHead', embed_dims=768, channels=64,
             post_process_channels=(48, 96, 192, 384)))
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(light) < count(full) / 3


def test_dpt_loss_and_predict_by_feat():
    head = _head(loss_decode=[dict(type='BerHuLoss'),
                              dict(type='MultiMAESiLogLoss', loss_weight=0.5)])
    samples = []
    for _ in range(2):
        s = SegDataSample()
        gt = torch.rand(1, 32, 32) * 4 + 0.5
        gt[:, :4] = 0  # an invalid band
        s.gt_depth_map = PixelData(data=gt)
        samples.append(s)
    losses = head.loss(_feats(), samples, None)
    assert set(losses) == {'loss_berhu', 'loss_silog', 'rmse'}
    assert losses['loss_berhu'].requires_grad
    assert not losses['rmse'].requires_grad
    pred = head.predict(_feats(), [dict(img_shape=(20, 20),
                                        pad_shape=(24, 40))], None)
    assert pred.shape == (2, 1, 24, 40)
    assert pred.min() >= head.min_depth and pred.max() <= head.max_depth


def test_dpt_missing_gt_names_the_sample():
    head = _head()
    s = SegDataSample(metainfo=dict(img_path='x/rgb/0001.png'))
    with pytest.raises(KeyError, match='0001.png'):
        head.loss(_feats(batch=1), [s], None)


@pytest.mark.parametrize('act', ['relu', 'sigmoid', 'none'])
def test_dpt_depth_activations(act):
    out = _head(depth_act=act, max_depth=5.0)(_feats())
    if act == 'relu':
        assert out.min() >= 0
    if act == 'sigmoid':
        assert out.min() >= 0 and out.max() <= 5.0


def test_dpt_bad_config_and_input():
    with pytest.raises(ValueError, match='depth_act'):
        _head(depth_act='exp')
    with pytest.raises(ValueError, match='4 in_index'):
        _head(in_index=(0, 1))
    with pytest.raises(IndexError, match='in_index 2'):
        _head(in_index=(0, 1, 2, 3))(_feats())
    with pytest.raises(ValueError, match=r'\(B, 32, h, w\)'):
        _head()((torch.randn(1, 16, 2, 2), ) * 2)


@pytest.mark.parametrize('act', ['softplus', 'relu', 'sigmoid'])
def test_dpt_init_depth_starts_near_the_given_depth(act):
    head = _head(init_depth=3.0, depth_act=act)
    head.init_weights()
    with torch.no_grad():
        head.last_layer.weight.zero_()  # isolate the bias
        out = head(_feats())
    torch.testing.assert_close(out, torch.full_like(out, 3.0))
    with pytest.raises(ValueError, match='init_depth'):
        _head(init_depth=20.0)


def test_fusion_block_is_mmsegs_plus_residual_biases():
    """mmseg's FeatureFusionBlock structure, with DPT's biased residual
    convs; with those biases at zero both blocks agree."""
    from mmseg.models.decode_heads.dpt_head import FeatureFusionBlock

    from mmmae.models.heads.dpt_head import FusionBlock
    head = _head()
    names = [{k.split('.')[0] for k in b.state_dict()}
             for b in head.fusion_blocks]
    assert names[0] == {'res_conv_unit2', 'project'}
    assert all(n == {'res_conv_unit1', 'res_conv_unit2', 'project'}
               for n in names[1:])
    ours = FusionBlock(8, dict(type='ReLU'))
    for p in ours.parameters():
        torch.nn.init.normal_(p)
    ref = FeatureFusionBlock(8, dict(type='ReLU'), None)
    _, unexpected = ref.load_state_dict(ours.state_dict(), strict=False)
    assert sorted(unexpected) == sorted(
        f'res_conv_unit{u}.conv{c}.conv.bias' for u in (1, 2)
        for c in (1, 2))
    x, skip = torch.randn(2, 8, 3, 4), torch.randn(2, 8, 3, 4)
    # mmseg's units apply an in-place ReLU to their input: fresh copies.
    assert not torch.allclose(ours(x, skip), ref(x.clone(), skip.clone()),
                              atol=1e-3)
    with torch.no_grad():
        for name, p in ours.named_parameters():
            if 'res_conv_unit' in name and name.endswith('bias'):
                p.zero_()
    # Ours leaves its inputs intact (no in-place activation).
    x0, skip0 = x.clone(), skip.clone()
    assert torch.allclose(ours(x, skip), ref(x.clone(), skip.clone()),
                          atol=1e-5)
    assert torch.equal(x, x0) and torch.equal(skip, skip0)
    deepest = FusionBlock(8, dict(type='ReLU'), with_skip=False)
    missing, _ = ref.load_state_dict(deepest.state_dict(), strict=False)
    assert {k.split('.')[0] for k in missing} == {'res_conv_unit1'}
    assert ours(x, skip).shape == (2, 8, 6, 8)
    with pytest.raises(ValueError, match='with_skip=False'):
        deepest(x, skip)
    with pytest.raises(ValueError, match='differ'):
        ours(x, torch.randn(2, 8, 6, 8))


def test_residual_units_carry_the_14_reference_biases():
    head = _head(in_index=(0, 1, 2, 3))
    biases = {n: p for n, p in head.named_parameters()
              if '.res_conv_unit' in n and n.endswith('bias')}
    # 4 fusion blocks x 2 units x 2 convs, less the deepest block's unused
    # skip unit (2 convs).
    assert len(biases) == 14
    feats = _feats(n=4)
    head(feats).sum().backward()
    for name, p in biases.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # A norm after the conv replaces the bias, as DPT's bias=not bn.
    bn = _head(norm_cfg=dict(type='BN'))
    assert not any('.res_conv_unit' in n and n.endswith('conv.bias')
                   for n, _ in bn.named_parameters())


def _reference_depth_model():
    """The fixture's reference DPT (non-zero biases) in mmmae form."""
    ref = torch.load(FIXTURE, weights_only=True)
    model = MODELS.build(dict(
        type='MultiTaskSegmentor',
        backbone=dict(
            type='MultiViT', img_size=64, out_indices=(0, 1, 2, 3),
            arch=dict(embed_dims=32, depth=4, num_heads=2, mlp_ratio=4.),
            input_adapters=dict(
                rgb=dict(type='PatchedInputAdapter', in_channels=3))),
        decode_heads=dict(depth=dict(
            type='MultiMAEDPTHead', embed_dims=32, channels=16,
            post_process_channels=(8, 16, 16, 32), head_channels=(8, 32)))))
    model.load_state_dict(convert_multimae(ref['model']), strict=True)
    return model.eval(), ref


def test_dpt_head_with_nonzero_biases_matches_the_reference():
    model, ref = _reference_depth_model()
    with torch.no_grad():
        out = model(ref['inputs'], mode='tensor')['depth']
        expected = ref['expected']
        err = (out - expected).norm() / expected.norm()
        assert err < 1e-5, err
        # The 14 residual biases matter: without them (mmseg's unit) the
        # output is another one.
        for name, p in model.decode_heads['depth'].named_parameters():
            if '.res_conv_unit' in name and name.endswith('bias'):
                p.zero_()
        out = model(ref['inputs'], mode='tensor')['depth']
    assert (out - expected).norm() / expected.norm() > 1e-2
