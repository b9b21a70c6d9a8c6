import numpy as np

from mmmae.registry import TRANSFORMS


def _results():
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.5, 5, (16, 16)).astype(np.float32)
    return dict(rgb=rng.integers(0, 256, (16, 16, 3), dtype=np.uint8),
                depth=depth, gt_depth_map=depth.copy(),
                gt_seg_map=rng.integers(0, 40, (16, 16), dtype=np.uint8))


def test_color_jitter_changes_rgb_only():
    np.random.seed(0)
    before = _results()
    after = TRANSFORMS.build(dict(type='RGBColorJitter', prob=1.0))(
        {k: v.copy() for k, v in before.items()})
    assert after['rgb'].dtype == np.uint8
    assert after['rgb'].shape == (16, 16, 3)
    assert not np.array_equal(after['rgb'], before['rgb'])
    for key in ('depth', 'gt_depth_map', 'gt_seg_map'):
        assert np.array_equal(after[key], before[key])


def test_brightness_only_scales():
    np.random.seed(0)
    r = _results()
    r['rgb'] = np.full((16, 16, 3), 100, np.uint8)
    out = TRANSFORMS.build(dict(type='RGBColorJitter', brightness=0.5,
                                contrast=0, saturation=0, hue=0,
                                prob=1.0))(r)
    assert len(np.unique(out['rgb'])) == 1 and 50 <= out['rgb'][0, 0, 0] <= 150


def test_grayscale():
    r = TRANSFORMS.build(dict(type='MultiModalRandomGrayscale', prob=1.0))(_results())
    assert np.array_equal(r['rgb'][..., 0], r['rgb'][..., 1])
    assert np.array_equal(r['rgb'][..., 1], r['rgb'][..., 2])
    same = TRANSFORMS.build(dict(type='MultiModalRandomGrayscale', prob=0.0))(
        _results())
    assert np.array_equal(same['rgb'], _results()['rgb'])
