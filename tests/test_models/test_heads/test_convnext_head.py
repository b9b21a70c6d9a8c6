import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.registry import MODELS


def _head(**kwargs):
    cfg = dict(type='ConvNeXtHead', in_channels=32, channels=8,
               num_blocks=1, num_classes=5)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_convnext_16_predictions_per_patch_at_stride_4():
    head = _head()
    out = head((torch.randn(2, 32, 2, 3), ))
    assert out.shape == (2, 5, 8, 12)


def test_each_token_fills_its_own_block():
    # Without ConvNeXt blocks every output pixel depends on one token only:
    # token (0, 1) must change exactly the 4x4 block rows 0:4, cols 4:8.
    head = _head(num_blocks=0).eval()
    x = torch.randn(1, 32, 2, 2)
    y = x.clone()
    y[:, :, 0, 1] += 1.0
    changed = (head((x, )) - head((y, ))).abs().sum(1)[0] > 0
    expected = torch.zeros(8, 8, dtype=torch.bool)
    expected[0:4, 4:8] = True
    assert torch.equal(changed, expected)


def test_convnext_defaults_match_multimae_vit_b():
    head = MODELS.build(dict(type='ConvNeXtHead', num_classes=40))
    assert head.proj_dec.out_features == 6144  # 16 x 384
    assert len(head.blocks) == 4 and head.dropout is None
    # The reference's ConvNeXt blocks have no layer scale.
    assert all(b.gamma is None for b in head.blocks)
    assert not any('gamma' in k for k in head.state_dict())


def test_layer_scale_is_an_explicit_option():
    head = _head(num_blocks=2, layer_scale_init_value=1e-6)
    for b in head.blocks:
        torch.testing.assert_close(b.gamma.data, torch.full((8, ), 1e-6))
    # With a tiny layer scale the blocks barely change the map; without,
    # they do (the reference's start).
    x = (torch.randn(1, 32, 2, 2), )
    plain = _head(num_blocks=0)
    plain.load_state_dict(head.state_dict(), strict=False)
    with torch.no_grad():
        assert torch.allclose(head(x), plain(x), atol=1e-4)
        head_none = _head(num_blocks=2)
        head_none.load_state_dict(
            {k: v for k, v in head.state_dict().items() if 'gamma' not in k})
        assert not torch.allclose(head_none(x), plain(x), atol=1e-2)


def test_convnext_reads_concatenated_modalities():
    """A readout of n modalities concatenated: in_channels = n x D."""
    head = _head(in_channels=64)
    assert head.proj_dec.in_features == 64
    assert head((torch.randn(1, 64, 2, 2), )).shape == (1, 5, 8, 8)


def test_convnext_loss_ignores_255_and_logs_accuracy():
    head = _head()
    s = SegDataSample()
    label = torch.randint(0, 5, (1, 32, 32))
    label[:, :16] = 255
    s.gt_sem_seg = PixelData(data=label)
    losses = head.loss((torch.randn(1, 32, 2, 2), ), [s], None)
    assert set(losses) == {'loss_ce', 'acc_seg'}
    assert losses['loss_ce'].requires_grad and torch.isfinite(
        losses['loss_ce'])
    logits = head.predict((torch.randn(1, 32, 2, 2), ),
                          [dict(img_shape=(30, 30), pad_shape=(32, 32))],
                          None)
    assert logits.shape == (1, 5, 32, 32)


def test_convnext_errors():
    with pytest.raises(ValueError, match='square'):
        _head(preds_per_patch=8)
    with pytest.raises(ValueError, match=r'\(B, 32, h, w\)'):
        _head()((torch.randn(1, 16, 2, 2), ))
