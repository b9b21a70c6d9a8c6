import numpy as np
import pytest

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


# -- the in-place RGBColorJitter equals the plain one bit for bit ----------
_GREY = np.array([0.299, 0.587, 0.114], np.float32)


def _plain_jitter(rgb, brightness, contrast, saturation, hue, prob):
    """RGBColorJitter written plainly (a new float32 array per step, a
    whole-channel hue shift): the reference of the optimised transform,
    drawing the same random numbers in the same order."""
    import cv2
    if np.random.rand() >= prob:
        return rgb

    def factor(x):
        return np.random.uniform(max(0., 1 - x), 1 + x)

    img = rgb.astype(np.float32)
    for op in np.random.permutation(4):
        if op == 0 and brightness > 0:
            img = img * factor(brightness)
        elif op == 1 and contrast > 0:
            mean = (img @ _GREY).mean()
            img = (img - mean) * factor(contrast) + mean
        elif op == 2 and saturation > 0:
            grey = (img @ _GREY)[..., None]
            img = (img - grey) * factor(saturation) + grey
        elif op == 3 and hue > 0:
            hsv = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8),
                               cv2.COLOR_RGB2HSV)
            shift = np.random.uniform(-hue, hue) * 180
            hsv[..., 0] = np.mod(hsv[..., 0].astype(np.float32) + shift,
                                 180).astype(np.uint8)
            img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
        img = np.clip(img, 0, 255)
    return img.round().astype(np.uint8)


def _test_images():
    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, (31, 45, 3), dtype=np.uint8)
    big = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    big[:20] = 255  # saturated and black areas: clipping is exercised
    big[20:40] = 0
    big[40:60, :, 1:] = 0
    x, y = np.meshgrid(np.arange(128), np.arange(64))
    smooth = (np.stack([x, y, np.full_like(x, 77)], -1) * 2).astype(np.uint8)
    return [small, big, smooth]


@pytest.mark.parametrize('params', [
    dict(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=1.),
    dict(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.5, prob=1.),
    dict(brightness=0.9, contrast=0.9, saturation=0.9, hue=0.3, prob=0.5),
    dict(brightness=0., contrast=0., saturation=0., hue=0.2, prob=1.),
    dict(brightness=0., contrast=0.4, saturation=0.4, hue=0., prob=1.),
    dict(brightness=0., contrast=0., saturation=0., hue=0., prob=1.),
])
def test_color_jitter_equals_plain_reference(params):
    tf = TRANSFORMS.build(dict(type='RGBColorJitter', **params))
    for img in _test_images():
        for seed in range(24):
            np.random.seed(seed)
            expected = _plain_jitter(img, **params)
            state = np.random.get_state()
            np.random.seed(seed)
            got = tf(dict(rgb=img.copy()))['rgb']
            assert got.dtype == np.uint8 and got.flags.c_contiguous
            assert np.array_equal(got, expected), (params, seed, img.shape)
            # The same draws: the next transform sees the same stream.
            after = np.random.get_state()
            assert after[2] == state[2] and np.array_equal(after[1],
                                                           state[1])


def test_hue_table_equals_channel_shift():
    from mmmae.datasets.transforms.photometric import _hue_lut
    h = np.arange(256, dtype=np.uint8)
    for shift in (-18.0, -0.3, 0.0, 7.77, 17.999, -1e-6):
        plain = np.mod(h.astype(np.float32) + shift, 180).astype(np.uint8)
        assert np.array_equal(_hue_lut(shift), plain)


def test_final_rounding_equals_numpy_round():
    """convertScaleAbs rounds [0, 255] floats as round().astype(uint8):
    half to even, at every half-integer and its float32 neighbours (the
    whole range was checked once, exhaustively)."""
    import cv2
    half = np.arange(0, 255, dtype=np.float32) + np.float32(0.5)
    x = np.concatenate([
        half, np.nextafter(half, 0), np.nextafter(half, 256),
        np.arange(256, dtype=np.float32),
        np.random.default_rng(0).uniform(0, 255, 10000).astype(np.float32),
        np.array([-0.0, 1e-30, 254.99998, 255.], np.float32)])
    x = x.reshape(1, -1)
    assert np.array_equal(cv2.convertScaleAbs(x),
                          x.round().astype(np.uint8))


def test_color_jitter_needs_uint8():
    tf = TRANSFORMS.build(dict(type='RGBColorJitter', prob=1.))
    with pytest.raises(TypeError, match='rgb.*a.png.*uint8.*float32'):
        tf(dict(rgb=np.zeros((4, 4, 3), np.float32), img_path='a.png'))


def test_lut_as_one_channel_equals_cv2_lut():
    """``_lut`` (a contiguous image looked up as one channel) equals
    cv2.LUT, for float32 and uint8 tables, contiguous or not."""
    import cv2
    from mmmae.datasets.transforms.photometric import _lut
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    for table in (rng.normal(0, 300, 256).astype(np.float32),
                  rng.integers(0, 256, 256, dtype=np.uint8)):
        for u8 in (img, img[:, ::2], img[..., 0], img[2:9, 3:11]):
            want = cv2.LUT(u8, table)
            got = _lut(u8, table)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert got.tobytes() == want.tobytes()


def test_block_rows_cover_whole_multiples_of_256_pixels():
    from mmmae.datasets.transforms.photometric import (_BLOCK_PIXELS,
                                                       _block_rows)
    for h, w in [(480, 640), (37, 45), (7, 1), (300, 257), (1024, 4096)]:
        rows = _block_rows(h, w)
        assert rows >= 1 and (rows * w) % 256 == 0
        assert rows * w <= max(_BLOCK_PIXELS, 256 * w)


@pytest.mark.parametrize('block_pixels', [256, 1280, 1 << 15])
def test_color_jitter_in_blocks_equals_plain_reference(block_pixels,
                                                       monkeypatch):
    """The per-pixel work runs over row blocks; with blocks of a few
    hundred pixels (many blocks, a short last one) and the
    default size on a 640x480 image, every output equals the plain
    whole-image reference."""
    from mmmae.datasets.transforms import photometric
    monkeypatch.setattr(photometric, '_BLOCK_PIXELS', block_pixels)
    rng = np.random.default_rng(block_pixels)
    # Widths 48 and 40: blocks of 16 and 32 rows, the last one shorter.
    images = [rng.integers(0, 256, (70, 48, 3), dtype=np.uint8),
              rng.integers(0, 256, (70, 40, 3), dtype=np.uint8)]
    if block_pixels == 1 << 15:
        x, y = np.meshgrid(np.arange(640), np.arange(480))
        images = [np.stack([x % 256, y % 256, (x + y) % 256],
                           -1).astype(np.uint8)]
    for img in images:
        assert photometric._block_rows(*img.shape[:2]) < img.shape[0]
    params = dict(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.2,
                  prob=1.)
    tf = TRANSFORMS.build(dict(type='RGBColorJitter', **params))
    for img in images:
        for seed in range(24):  # 24 orders of the four ops
            np.random.seed(seed)
            expected = _plain_jitter(img, **params)
            np.random.seed(seed)
            got = tf(dict(rgb=img.copy()))['rgb']
            assert np.array_equal(got, expected), (block_pixels, seed,
                                                   img.shape)


def test_color_jitter_of_a_strided_view_equals_its_copy(monkeypatch):
    """A view (flipped, every other column) gives the result of its
    contiguous copy, and the input is left as it was."""
    from mmmae.datasets.transforms import photometric
    monkeypatch.setattr(photometric, '_BLOCK_PIXELS', 256)
    img = np.random.default_rng(7).integers(0, 256, (40, 96, 3),
                                            dtype=np.uint8)
    tf = TRANSFORMS.build(dict(type='RGBColorJitter', brightness=0.4,
                               contrast=0.4, saturation=0.4, hue=0.2,
                               prob=1.))
    for view in (img[:, ::-1], img[:, ::2], img[::-1]):
        before = view.copy()
        for seed in range(24):
            np.random.seed(seed)
            got = tf(dict(rgb=view))['rgb']
            np.random.seed(seed)
            want = tf(dict(rgb=np.ascontiguousarray(view)))['rgb']
            assert np.array_equal(got, want), seed
        assert np.array_equal(view, before)
