from types import SimpleNamespace

import mmcv
import numpy as np
import pytest
import torch

from mmmae.engine.hooks import ReconstructionHook, draw_reconstruction
from mmmae.engine.hooks.reconstruction_hook import (GREY,
                                                    reconstruction_panels)
from mmmae.visualization import annotate as A
from mmmae.registry import HOOKS, MODELS


def _model():
    dec = dict(type='SpatialCrossAttentionDecoder', embed_dims=32,
               num_heads=2, depth=1)
    return MODELS.build(dict(
        type='MultiMAE',
        backbone=dict(
            type='MultiViT', arch='tiny', img_size=32,
            input_adapters=dict(
                rgb=dict(type='PatchedInputAdapter', in_channels=3),
                depth=dict(type='PatchedInputAdapter', in_channels=1),
                semseg=dict(type='SemSegInputAdapter', num_classes=5))),
        masking=dict(type='DirichletMasking', num_encoded_tokens=3),
        decoders=dict(rgb=dict(dec, out_channels=3),
                      depth=dict(dec, out_channels=1),
                      semseg=dict(dec, out_channels=5, stride_level=4)),
        losses=dict(rgb=dict(type='MaskedMSELoss'),
                    depth=dict(type='MaskedL1Loss'),
                    semseg=dict(type='MaskedCrossEntropyLoss')))).eval()


def _samples(B=3):
    torch.manual_seed(0)
    inputs = dict(rgb=torch.randn(B, 3, 32, 32),
                  depth=torch.randn(B, 1, 32, 32),
                  semseg=torch.randint(0, 5, (B, 8, 8)))
    with torch.no_grad():
        return _model()(inputs, mode='predict')


def test_picture_layout_masks_and_pasted_prediction():
    # A sample whose rgb is partly masked.
    sample = next(s for s in _samples(6)
                  if 0 < s.mask_rgb.data.sum() < s.mask_rgb.data.numel())
    image = draw_reconstruction(sample)
    mask = sample.mask_rgb.data[0].bool().numpy()
    panels = reconstruction_panels(
        'rgb', sample.pred_rgb.data.float(), sample.target_rgb.data.float(),
        sample.mask_rgb.data, (32, 32))
    # 32 px panels enlarged 5x under a title
    rows, cols = A.map_box((32, 32))
    masked_in, pred, target = [p[rows, cols][::5, ::5] for p in panels]
    for p in panels:
        assert (p[:A.TITLE_HEIGHT] < 100).all(-1).sum() > 20  # title text
    assert (masked_in[mask] == GREY).all()
    assert np.array_equal(masked_in[~mask], target[~mask])
    # Visible patches are pasted from the input; masked ones predicted.
    assert np.array_equal(pred[~mask], target[~mask])
    assert not np.array_equal(pred[mask], target[mask])
    # the picture: the rgb row first, masked input at the top left
    np.testing.assert_array_equal(image[:panels[0].shape[0],
                                        :panels[0].shape[1]], panels[0])
    with pytest.raises(KeyError, match='recon_tasks'):
        draw_reconstruction(type(sample)())


def test_depth_row_shares_one_bar_and_labels_get_a_legend():
    sample = _samples(1)[0]
    depth = reconstruction_panels(
        'depth', sample.pred_depth.data.float(),
        sample.target_depth.data.float(), sample.mask_depth.data, (32, 32))
    # prediction and target drawn on the same scale: identical colour bars
    rows, _ = A.map_box((32, 32))
    np.testing.assert_array_equal(depth[1][rows, 160:], depth[2][rows, 160:])
    labels = reconstruction_panels(
        'semseg', sample.pred_semseg.data.round().long(),
        sample.target_semseg.data, sample.mask_semseg.data, (32, 32),
        class_names=['a', 'b', 'c', 'd', 'e'])
    target = sample.target_semseg.data[0].numpy()
    present, _ = A.legend_entries(target)
    key = labels[2][rows, 160 + A.GAP:]
    palette = A.full_palette(None, 5)
    for i, idx in enumerate(present):
        y = 4 + A.LINE * i + A.SWATCH // 2
        np.testing.assert_array_equal(key[y, 2 + A.SWATCH // 2],
                                      palette[idx])


def test_hook_writes_at_most_max_samples_per_run(tmp_path):
    hook = HOOKS.build(dict(type='ReconstructionHook', max_samples=4))
    assert isinstance(hook, ReconstructionHook)
    runner = SimpleNamespace(log_dir=str(tmp_path), iter=100)
    samples = _samples(3)
    for i, s in enumerate(samples):
        s.set_metainfo(dict(img_path=f'/data/rgb/{i:06d}.png'))
    hook.before_val_epoch(runner)
    hook.after_val_iter(runner, 0, None, samples)
    hook.after_val_iter(runner, 1, None, samples)  # 3 more, only 1 kept
    out = tmp_path / 'reconstructions' / 'iter_100'
    # the image met twice gets its own file, never drawn over the first
    assert sorted(p.name for p in out.iterdir()) == [
        '000000.png', '000000_3.png', '000001.png', '000002.png']
    assert hook._drawn == 4
    picture = mmcv.imread(str(out / '000000.png'))
    np.testing.assert_array_equal(picture[..., ::-1],
                                  draw_reconstruction(samples[0]))
    hook.before_test_epoch(runner)
    hook.after_test_iter(runner, 0, None, samples[:1])
    assert (tmp_path / 'reconstructions' / 'test' / '000000.png').exists()
