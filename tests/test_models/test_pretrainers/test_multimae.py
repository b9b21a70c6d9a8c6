import copy
import itertools

import pytest
import torch
from mmengine.optim import OptimWrapper

from mmmae.models.prompts import BasePrompt
from mmmae.registry import MODELS


@MODELS.register_module(name='_NoopPretrainPrompt', force=True)
class _NoopPretrainPrompt(BasePrompt):
    """A prompt plugin that changes nothing."""

NUM_CLASSES = 5
ALL = ('rgb', 'depth', 'semseg')
ADAPTERS = dict(
    rgb=dict(type='PatchedInputAdapter', in_channels=3),
    depth=dict(type='PatchedInputAdapter', in_channels=1),
    semseg=dict(type='SemSegInputAdapter', num_classes=NUM_CLASSES))


def _cfg(encoded=ALL, num_encoded_tokens=4):
    dec = dict(type='SpatialCrossAttentionDecoder', embed_dims=32,
               num_heads=2, depth=1)
    return dict(
        type='MultiMAE',
        backbone=dict(type='MultiViT', arch='tiny', img_size=32,
                      input_adapters={k: ADAPTERS[k] for k in encoded}),
        masking=dict(type='DirichletMasking',
                     num_encoded_tokens=num_encoded_tokens),
        decoders=dict(
            rgb=dict(dec, out_channels=3),
            norm_rgb=dict(dec, task='rgb', out_channels=3),
            depth=dict(dec, out_channels=1),
            semseg=dict(dec, out_channels=NUM_CLASSES, stride_level=4,
                        force_fp32=True)),
        losses=dict(
            rgb=dict(type='MaskedMSELoss'),
            norm_rgb=dict(type='MaskedMSELoss', norm_pix=True),
            depth=dict(type='MaskedL1Loss'),
            semseg=dict(type='MaskedCrossEntropyLoss')))


def _inputs(B=2, H=32, W=32):
    semseg = torch.randint(0, NUM_CLASSES, (B, H // 4, W // 4))
    semseg[:, ::2] = 255  # unlabelled pixels, embedded with the extra row
    return dict(rgb=torch.randn(B, 3, H, W), depth=torch.randn(B, 1, H, W),
                semseg=semseg)


def test_loss_keys_and_values():
    torch.manual_seed(0)
    model = MODELS.build(_cfg())
    losses = model(_inputs(), mode='loss')
    assert set(losses) == {'loss_rgb', 'loss_norm_rgb', 'loss_depth',
                           'loss_semseg'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())


def test_loss_ignores_visible_patches(monkeypatch):
    torch.manual_seed(1)
    model = MODELS.build(_cfg(num_encoded_tokens=6))
    inputs = _inputs(B=3)
    out = model.reconstruct(inputs)
    monkeypatch.setattr(model, 'reconstruct', lambda x: out)
    base = model.loss(inputs)

    perturbed = dict(out)
    for name, dec in model.decoders.items():
        mask = out[f'mask_{dec.task}']
        assert (mask == 0).any() and (mask == 1).any()
        pred = out[name]
        scale = pred.shape[-1] // mask.shape[-1]
        pixel = mask.repeat_interleave(scale, 1).repeat_interleave(scale, 2)
        visible = (pixel == 0)[:, None].expand_as(pred)
        perturbed[name] = torch.where(visible, pred + 100., pred)
    monkeypatch.setattr(model, 'reconstruct', lambda x: perturbed)
    again = model.loss(inputs)
    for k in base:
        assert torch.allclose(base[k], again[k]), k


def test_masking_counts_match_encoder_input():
    torch.manual_seed(2)
    model = MODELS.build(_cfg(num_encoded_tokens=5))
    enc = model.encode_masked(_inputs(B=4))
    # K visible tokens plus one global token went through the encoder.
    assert enc['tokens'].shape == (4, 5 + 1, 32)
    assert enc['masking'].mask.shape == (4, 12)
    assert ((1 - enc['masking'].mask).sum(1) == 5).all()


@pytest.mark.parametrize('size', [(32, 32), (64, 48), (48, 80)])
def test_forward_at_several_resolutions(size):
    torch.manual_seed(3)
    model = MODELS.build(_cfg())
    out = model(_inputs(2, *size), mode='tensor')
    H, W = size
    assert out['rgb'].shape == (2, 3, H, W)
    assert out['norm_rgb'].shape == (2, 3, H, W)
    assert out['depth'].shape == (2, 1, H, W)
    assert out['semseg'].shape == (2, NUM_CLASSES, H // 4, W // 4)
    assert out['mask_rgb'].shape == (2, H // 16, W // 16)
    losses = model(_inputs(2, *size), mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    feats = model.extract_feat(_inputs(2, *size))
    assert feats[-1].shape == (2, 32, H // 16, W // 16)


SUBSETS = [s for r in (1, 2, 3) for s in itertools.combinations(ALL, r)]


@pytest.mark.parametrize('encoded', SUBSETS, ids='+'.join)
def test_every_input_subset(encoded):
    """Encode any subset; modalities without adapter are pure targets."""
    torch.manual_seed(4)
    model = MODELS.build(_cfg(encoded, num_encoded_tokens=3))
    inputs = _inputs()
    out = model(inputs, mode='tensor')
    for task in ALL:
        mask = out[f'mask_{task}']
        if task in encoded:
            assert mask.sum() < mask.numel() or len(encoded) > 1
        else:
            assert (mask == 1).all()  # never seen: every patch is judged
    losses = model(inputs, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())
    # Only the encoded subset reaches extract_feat.
    assert model.extract_feat(inputs)[-1].shape == (2, 32, 2, 2)


def test_gradients_reach_every_trainable_parameter():
    torch.manual_seed(5)
    # Half the 12 tokens masked in 8 samples, so that every decoder has
    # masked patches to reconstruct (a decoder with none gets no gradient).
    model = MODELS.build(_cfg(num_encoded_tokens=6))
    losses = model(_inputs(B=8), mode='loss')
    assert all(v > 0 for v in losses.values()), losses
    sum(losses.values()).backward()
    missing = [n for n, p in model.named_parameters()
               if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)]
    assert missing == []
    # The ignore row of the class table was used and trained.
    ignore_row = model.backbone.input_adapters['semseg'].class_emb.weight.grad[
        NUM_CLASSES]
    assert ignore_row.abs().sum() > 0


def test_train_step_from_dict_config():
    torch.manual_seed(6)
    model = MODELS.build(_cfg())
    wrapper = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
    before = copy.deepcopy(model.state_dict())
    log_vars = model.train_step(dict(inputs=_inputs()), wrapper)
    assert {'loss', 'loss_rgb', 'loss_depth', 'loss_semseg',
            'loss_norm_rgb'} <= set(log_vars)
    changed = [k for k, v in model.state_dict().items()
               if not torch.equal(v, before[k])]
    assert any(k.startswith('backbone.blocks') for k in changed)
    assert any(k.startswith('decoders.semseg') for k in changed)


def test_predict_gives_reproducible_reconstructions():
    torch.manual_seed(7)
    model = MODELS.build(_cfg()).eval()
    inputs = _inputs()
    state = torch.get_rng_state()
    samples = model(inputs, mode='predict')
    assert torch.equal(state, torch.get_rng_state())  # global RNG untouched
    again = model(inputs, mode='predict')
    s = samples[0]
    assert s.recon_tasks == dict(rgb='rgb', norm_rgb='rgb', depth='depth',
                                 semseg='semseg')
    assert s.pred_rgb.data.shape == (3, 32, 32)
    assert s.pred_semseg.data.shape == (1, 8, 8)
    assert s.pred_semseg.data.max() < NUM_CLASSES
    assert s.target_semseg.data.shape == (1, 8, 8)
    assert s.mask_depth.data.shape == (1, 32, 32)
    assert torch.equal(s.mask_rgb.data, again[0].mask_rgb.data)
    assert torch.equal(s.pred_depth.data, again[0].pred_depth.data)


def test_norm_pix_prediction_is_mapped_back_to_pixels():
    model = MODELS.build(_cfg())
    from mmmae.models.losses import patch_normalize
    target = torch.randn(2, 3, 32, 32) * 3 + 1
    mask = torch.ones(2, 2, 2, dtype=torch.long)
    z = patch_normalize(target, 16)
    back = model._to_target_units('norm_rgb', z, target, mask)
    assert torch.allclose(back, target, atol=1e-3)
    assert model._to_target_units('rgb', z, target, mask) is z


def test_bad_configs_and_inputs_are_named():
    cfg = _cfg()
    cfg['losses'].pop('depth')
    with pytest.raises(KeyError, match='one loss per decoder'):
        MODELS.build(cfg)
    cfg = _cfg()
    cfg['backbone']['prompt'] = dict(type='_NoopPretrainPrompt')
    with pytest.raises(ValueError, match='without a prompt'):
        MODELS.build(cfg)
    model = MODELS.build(_cfg(('rgb', ), num_encoded_tokens=3))
    inputs = _inputs()
    inputs['normals'] = torch.randn(2, 3, 32, 32)
    with pytest.raises(KeyError, match='normals'):
        model(inputs, mode='loss')
    inputs = _inputs()
    inputs.pop('depth')
    with pytest.raises(KeyError, match='"depth"'):
        model(inputs, mode='loss')
    with pytest.raises(ValueError, match='num_encoded_tokens=5'):
        MODELS.build(_cfg(('rgb', ), num_encoded_tokens=5))(
            _inputs(), mode='loss')
