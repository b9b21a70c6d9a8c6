import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.models.data_preprocessors import (MultiMAEDataPreprocessor,
                                             robust_standardize)
from mmmae.registry import MODELS


def _sample(h, w, seed=0):
    g = torch.Generator().manual_seed(seed)
    depth = torch.rand(1, h, w, generator=g) * 4 + 0.5
    depth[0, 0, :2] = 0  # invalid
    s = SegDataSample()
    s.gt_sem_seg = PixelData(data=torch.randint(0, 40, (1, h, w),
                                                generator=g))
    s.gt_depth_map = PixelData(data=depth.clone())
    s.set_metainfo(dict(img_shape=(h, w), ori_shape=(h, w)))
    inputs = dict(rgb=torch.randint(0, 256, (3, h, w), generator=g,
                                    dtype=torch.uint8),
                  depth=depth,
                  semseg=torch.randint(0, 40, (1, h, w), generator=g))
    return inputs, s


def _batch(shapes):
    items = [_sample(h, w, i) for i, (h, w) in enumerate(shapes)]
    inputs = {m: [it[0][m] for it in items] for m in items[0][0]}
    return dict(inputs=inputs, data_samples=[it[1] for it in items])


def test_shapes_padding_and_dtypes():
    pre = MODELS.build(dict(type='MultiMAEDataPreprocessor',
                            size_divisor=16))
    out = pre(_batch([(20, 30), (24, 18)]), training=True)
    x = out['inputs']
    assert x['rgb'].shape == (2, 3, 32, 32) and x['rgb'].dtype == \
        torch.float32
    assert x['depth'].shape == (2, 1, 32, 32)
    assert x['semseg'].shape == (2, 8, 8) and x['semseg'].dtype == torch.long
    # padded regions: rgb 0 after normalisation, depth 0, labels 255
    assert (x['rgb'][0, :, 20:] == 0).all() and (x['depth'][1, :, :, 18:]
                                                 == 0).all()
    assert (x['semseg'][0, 5:] == 255).all()
    s0, s1 = out['data_samples']
    assert s0.gt_sem_seg.data.shape == (1, 32, 32)
    assert (s0.gt_sem_seg.data[:, 20:] == 255).all()
    assert (s1.gt_depth_map.data[:, :, 18:] == 0).all()
    assert s0.img_shape == (20, 30) and s0.pad_shape == (32, 32)
    assert s1.padding_size == (0, 14, 0, 8)


def test_rgb_normalisation():
    pre = MultiMAEDataPreprocessor()
    inputs, _ = _sample(8, 8)
    out = pre(dict(inputs=dict(rgb=[inputs['rgb']])))['inputs']['rgb']
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    torch.testing.assert_close(out[0], (inputs['rgb'].float() - mean) / std)


def test_test_mode_keeps_gt_and_records_padding():
    pre = MultiMAEDataPreprocessor(size_divisor=16)
    out = pre(_batch([(20, 30)]), training=False)
    s = out['data_samples'][0]
    assert out['inputs']['rgb'].shape == (1, 3, 32, 32)
    assert s.gt_sem_seg.data.shape == (1, 20, 30)  # untouched for metrics
    assert s.padding_size == (0, 2, 0, 12)


def test_robust_standardize():
    g = torch.Generator().manual_seed(0)
    depth = torch.rand(1, 20, 20, generator=g) * 5 + 0.5
    depth[0, :3] = 0
    valid = depth > 0
    z = robust_standardize(depth)
    assert (z[~valid] == 0).all()
    vals = z[valid].sort().values
    k = int(vals.numel() * 0.1)
    core = vals[k:vals.numel() - k]
    assert abs(float(core.mean())) < 1e-4
    assert abs(float(core.std()) - 1) < 1e-4
    # outliers beyond the trimmed 10% do not move the statistics
    spiky = depth.clone()
    spiky[0, 10, :5] = 1000.
    z2 = robust_standardize(spiky)
    keep = valid.clone()
    keep[0, 10, :5] = False
    assert (z2[keep] - z[keep]).abs().max() < 0.1
    # invariant to the metric scale and offset (relative depth is enough)
    z3 = robust_standardize(torch.where(valid, depth * 3 + 2, depth))
    torch.testing.assert_close(z3, z, atol=1e-4, rtol=1e-4)
    assert (robust_standardize(torch.zeros(1, 4, 4)) == 0).all()


def test_depth_input_is_standardised_per_image():
    pre = MultiMAEDataPreprocessor()
    a, _ = _sample(16, 16, 0)
    b, _ = _sample(16, 16, 1)
    b_depth = torch.where(b['depth'] > 0, b['depth'] * 10, b['depth'])
    out = pre(dict(inputs=dict(depth=[a['depth'], b_depth])))['inputs']
    torch.testing.assert_close(out['depth'][0], robust_standardize(
        a['depth']))
    torch.testing.assert_close(out['depth'][1], robust_standardize(
        b['depth']), atol=1e-4, rtol=1e-4)
    raw = MultiMAEDataPreprocessor(depth_norm=None)(
        dict(inputs=dict(depth=[a['depth']])))['inputs']['depth']
    torch.testing.assert_close(raw[0], a['depth'])


def test_semseg_quarter_resolution_samples_cell_centres():
    labels = torch.arange(16 * 16).view(1, 16, 16) % 251
    out = MultiMAEDataPreprocessor()(
        dict(inputs=dict(semseg=[labels])))['inputs']['semseg']
    assert out.shape == (1, 4, 4)
    assert torch.equal(out[0], labels[0, 2::4, 2::4])


def test_stacked_inputs_and_fixed_size():
    pre = MultiMAEDataPreprocessor(size=(24, 40))
    inputs, _ = _sample(16, 16)
    out = pre(dict(inputs=dict(rgb=inputs['rgb'][None].repeat(2, 1, 1, 1))))
    assert out['inputs']['rgb'].shape == (2, 3, 24, 40)


def test_errors_name_the_problem():
    pre = MultiMAEDataPreprocessor()
    a, _ = _sample(16, 16)
    with pytest.raises(ValueError, match='differ in size'):
        pre(dict(inputs=dict(rgb=[a['rgb']], depth=[a['depth'][:, :8]])))
    with pytest.raises(ValueError, match='"rgb" has 1 channels'):
        pre(dict(inputs=dict(rgb=[a['depth']])))
    with pytest.raises(TypeError, match='dict'):
        pre(dict(inputs=[a['rgb']]))
    batch = _batch([(16, 16)])
    batch['data_samples'][0].gt_sem_seg = PixelData(
        data=torch.zeros(1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match='gt_sem_seg'):
        pre(batch, training=True)
