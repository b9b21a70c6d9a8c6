"""Every geometric transform must keep all modalities pixel-aligned."""
import numpy as np
import pytest

from mmmae.registry import TRANSFORMS

H, W = 24, 40


def _coords():
    """rgb encodes (x, y, 0); depth and labels encode the same position."""
    y, x = np.mgrid[0:H, 0:W]
    rgb = np.stack([x * 6, y * 10, np.zeros_like(x)], -1).astype(np.uint8)
    depth = (1 + x + 100 * y).astype(np.float32)
    labels = ((x // 4) + 10 * (y // 8)).astype(np.uint8)
    return dict(rgb=rgb, depth=depth, gt_depth_map=depth.copy(),
                gt_seg_map=labels, img_shape=(H, W), ori_shape=(H, W),
                modalities=('rgb', 'depth'),
                field_kinds=dict(rgb='image', depth='depth',
                                 gt_depth_map='depth', gt_seg_map='label'))


def _check_aligned(r, exact_rgb=True):
    depth = r['depth']
    valid = depth > 0
    x = (depth - 1) % 100
    y = (depth - 1) // 100
    assert np.array_equal(depth, r['gt_depth_map'])
    labels = (x // 4) + 10 * (y // 8)
    assert np.array_equal(r['gt_seg_map'][valid], labels[valid])
    rx, ry = r['rgb'][..., 0] / 6., r['rgb'][..., 1] / 10.
    tol = 0 if exact_rgb else 1.01
    assert np.abs(rx - x)[valid].max() <= tol
    assert np.abs(ry - y)[valid].max() <= tol
    assert r.get('pad_shape', r['img_shape']) == depth.shape


@pytest.mark.parametrize('cfg', [
    dict(type='MultiModalRandomCrop', crop_size=(16, 16)),
    dict(type='MultiModalRandomCrop', crop_size=(16, 16), cat_max_ratio=0.5),
    dict(type='MultiModalRandomCrop', crop_size=(64, 64)),
    dict(type='MultiModalCenterCrop', crop_size=(10, 30)),
    dict(type='MultiModalRandomFlip', prob=1.0),
    dict(type='MultiModalRandomFlip', prob=1.0, direction='vertical'),
    dict(type='MultiModalPad', size=(32, 48)),
    dict(type='MultiModalPad', size_divisor=16),
])
def test_exact_transforms_keep_alignment(cfg):
    np.random.seed(0)
    t = TRANSFORMS.build(cfg)
    for _ in range(5):
        _check_aligned(t(_coords()))


def test_flip_moves_pixels_and_records_it():
    r = TRANSFORMS.build(dict(type='MultiModalRandomFlip', prob=1.0))(
        _coords())
    assert r['rgb'][0, 0, 0] == (W - 1) * 6 and r['flip']
    assert r['flip_direction'] == 'horizontal'
    r = TRANSFORMS.build(dict(type='MultiModalRandomFlip', prob=0.0))(
        _coords())
    assert r['rgb'][0, 0, 0] == 0 and r['flip'] is False


def test_pad_values_per_kind():
    r = TRANSFORMS.build(dict(type='MultiModalPad', size=(32, 48)))(_coords())
    assert r['rgb'].shape == (32, 48, 3) and r['pad_shape'] == (32, 48)
    assert (r['rgb'][H:] == 0).all() and (r['depth'][:, W:] == 0).all()
    assert (r['gt_seg_map'][H:] == 255).all()


@pytest.mark.parametrize('cfg', [
    dict(type='MultiModalResize', scale=(20, 12), keep_ratio=False),
    dict(type='MultiModalResize', scale=(1000, 12)),
    dict(type='MultiModalRandomResize', scale=(40, 24),
         ratio_range=(0.5, 2.0)),
    dict(type='MultiModalRandomResize', ratio_range=(0.3, 1.7)),
    dict(type='MultiModalRandomResizedCrop', size=(16, 16)),
])
def test_resampling_transforms_keep_alignment(cfg):
    np.random.seed(1)
    t = TRANSFORMS.build(cfg)
    for _ in range(5):
        r = t(_coords())
        # depth and labels are nearest: exact; rgb is bilinear: within 1 px
        _check_aligned(r, exact_rgb=False)
        assert r['rgb'].dtype == np.uint8 and r['gt_seg_map'].dtype == np.uint8
        assert set(np.unique(r['depth'])) <= set(np.unique(_coords()['depth']))


def test_resize_keep_ratio_sizes():
    r = TRANSFORMS.build(dict(type='MultiModalResize', scale=(2048, 12)))(
        _coords())
    assert r['img_shape'] == (12, 20) and r['scale_factor'] == (0.5, 0.5)
    r = TRANSFORMS.build(dict(type='MultiModalRandomResizedCrop',
                              size=(8, 12)))(_coords())
    assert r['rgb'].shape == (8, 12, 3) and r['gt_seg_map'].shape == (8, 12)


def test_relative_scale_jitter():
    np.random.seed(0)
    t = TRANSFORMS.build(dict(type='MultiModalRandomResize',
                              ratio_range=(2.0, 2.0)))
    assert t(_coords())['img_shape'] == (2 * H, 2 * W)


def test_cat_max_ratio_avoids_uniform_crops():
    r = _coords()
    r['gt_seg_map'] = np.zeros((H, W), np.uint8)
    r['gt_seg_map'][:, 30:] = 1
    np.random.seed(0)
    t = TRANSFORMS.build(dict(type='MultiModalRandomCrop', crop_size=(8, 12),
                              cat_max_ratio=0.75))
    mixed = sum(len(np.unique(t(dict(r))['gt_seg_map'])) > 1
                for _ in range(20))
    assert mixed >= 15  # without the retry about 1 in 3 crops is mixed


def test_needs_field_kinds():
    with pytest.raises(KeyError, match='LoadMultiModalFromFile'):
        TRANSFORMS.build(dict(type='MultiModalCenterCrop', crop_size=4))(
            dict(rgb=np.zeros((8, 8, 3), np.uint8)))


def _mt_results(h=16, w=20):
    """Normals (unit, 0 = invalid), edges, saliency and parts."""
    rng = np.random.default_rng(0)
    n = rng.normal(size=(h, w, 3)).astype(np.float32)
    n[..., 2] = -np.abs(n[..., 2]) - 0.5
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    n[:3, :4] = 0
    edge = (rng.random((h, w)) < 0.3).astype(np.uint8)
    edge[0, 0] = 255
    return dict(
        rgb=rng.integers(0, 256, (h, w, 3), dtype=np.uint8), gt_normals=n,
        gt_edge=edge, gt_sal=(rng.random((h, w)) < 0.5).astype(np.uint8),
        gt_parts=rng.integers(0, 7, (h, w)).astype(np.uint8),
        img_shape=(h, w), ori_shape=(h, w), modalities=('rgb', ),
        field_kinds=dict(rgb='image', gt_normals='normals', gt_edge='edge',
                         gt_sal='binary', gt_parts='label'))


@pytest.mark.parametrize('direction,axis', [('horizontal', 0),
                                             ('vertical', 1)])
def test_flip_negates_the_normals_flipped_axis(direction, axis):
    r = _mt_results()
    n = r['gt_normals'].copy()
    out = TRANSFORMS.build(dict(type='MultiModalRandomFlip', prob=1.0,
                                direction=direction))(r)
    flipped = n[:, ::-1] if direction == 'horizontal' else n[::-1]
    want = flipped.copy()
    want[..., axis] *= -1
    np.testing.assert_array_equal(out['gt_normals'], want)
    assert out['flip'] is True


@pytest.mark.parametrize('cfg', [
    dict(type='MultiModalResize', scale=(33, 27), keep_ratio=False),
    dict(type='MultiModalResize', scale=(9, 7), keep_ratio=False),
    dict(type='MultiModalRandomResizedCrop', size=(24, 24)),
])
def test_resize_keeps_normals_unit_and_maps_discrete(cfg):
    np.random.seed(0)
    r = TRANSFORMS.build(cfg)(_mt_results())
    n = r['gt_normals']
    assert n.shape[:2] == r['rgb'].shape[:2] == r['gt_edge'].shape
    length = np.linalg.norm(n, axis=-1)
    valid = length > 0
    assert valid.any()  # (a random crop may miss the invalid corner)
    np.testing.assert_allclose(length[valid], 1, atol=1e-5)
    assert set(np.unique(r['gt_edge'])) <= {0, 1, 255}
    assert set(np.unique(r['gt_sal'])) <= {0, 1}
    assert r['gt_parts'].max() <= 6


def test_resize_normals_validity_follows_nearest():
    r = _mt_results()
    big = TRANSFORMS.build(dict(type='MultiModalResize', scale=(40, 32),
                                keep_ratio=False))(r)
    # the invalid 3x4 corner becomes exactly 6x8 (factor 2, nearest)
    valid = big['gt_normals'].any(-1)
    assert not valid[:6, :8].any() and valid[6:, :].all() and \
        valid[:, 8:].all()


def test_pad_values_per_task_kind():
    r = TRANSFORMS.build(dict(type='MultiModalPad', size=(20, 24)))(
        _mt_results())
    assert not r['gt_normals'][16:].any()
    assert (r['gt_edge'][16:] == 255).all() and \
        (r['gt_sal'][:, 20:] == 255).all()
    assert (r['gt_parts'][16:] == 255).all()


# -- pad_map equals np.pad ------------------------------------------------
@pytest.mark.parametrize('shape,dtype,value', [
    ((5, 7), np.uint8, 255), ((5, 7), np.float32, 0),
    ((5, 7, 3), np.uint8, 128), ((5, 7), np.int64, 255),
    ((5, 7), np.uint16, 65535), ((5, 7, 3), np.float32, 0.5),
    ((5, 7), np.uint8, 127.6),  # cast as np.pad casts it
])
def test_pad_map_equals_np_pad(shape, dtype, value):
    from mmmae.datasets.transforms.geometric import pad_map
    rng = np.random.default_rng(0)
    arr = (rng.random(shape) * 200).astype(dtype)
    for th, tw in [(9, 7), (5, 11), (8, 12)]:
        pad = ((0, th - shape[0]), (0, tw - shape[1])) + \
            ((0, 0),) * (len(shape) - 2)
        expected = np.pad(arr, pad, constant_values=value)
        got = pad_map(arr, th, tw, value)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert np.array_equal(got, expected)
    # Nothing to pad: the map itself (np.pad would copy the same values).
    assert pad_map(arr, *shape[:2], value) is arr


def test_pad_then_crop_equals_np_pad_reference():
    pad = TRANSFORMS.build(dict(type='MultiModalPad', size=(32, 48),
                                pad_val=dict(image=128)))
    crop = TRANSFORMS.build(dict(type='MultiModalRandomCrop',
                                 crop_size=(28, 44)))
    for seed in range(5):
        r = _coords()
        np.random.seed(seed)
        out = crop(pad({k: v for k, v in r.items()}))
        np.random.seed(seed)
        y0 = np.random.randint(0, 32 - 28 + 1)
        x0 = np.random.randint(0, 48 - 44 + 1)
        for key, val in dict(rgb=128, depth=0, gt_depth_map=0,
                             gt_seg_map=255).items():
            arr = r[key]
            ref = np.pad(arr, ((0, 32 - H), (0, 48 - W)) +
                         ((0, 0),) * (arr.ndim - 2),
                         constant_values=val)[y0:y0 + 28, x0:x0 + 44]
            assert np.array_equal(out[key], ref), key
