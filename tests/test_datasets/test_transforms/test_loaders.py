"""Float map loaders: depth in float TIFF, OpenEXR (or a clear error where
this OpenCV cannot read it) and packed float32 PNG; generic float maps."""
import cv2
import numpy as np
import pytest

from mmmae.datasets.modality_kinds import get_modality_kind
from mmmae.datasets.transforms import decoders
from mmmae.datasets.transforms.loaders import LoadContext, get_loader
from mmmae.registry import TRANSFORMS


def _ctx(kind='depth', name='depth', **options):
    return LoadContext(name=name, kind=get_modality_kind(kind), results={},
                       options=options)


def _write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def _tiff(path, arr):
    ok, buf = cv2.imencode('.tiff', arr)
    assert ok
    return _write(path, buf.tobytes())


def _depth(h=6, w=7, seed=0):
    rng = np.random.default_rng(seed)
    depth = rng.uniform(0.3, 9.0, (h, w)).astype(np.float32)
    depth[0, :2] = 0  # invalid
    return depth


def test_depth_tiff_is_float_metres_bit_exact(tmp_path):
    depth = _depth()
    depth[1, 1] = np.nan  # NaN and +inf mean invalid
    depth[1, 2] = np.inf
    path = _tiff(tmp_path / 'd.tiff', depth)
    out = get_loader(get_modality_kind('depth')(loader='depth_tiff'))(
        path, _ctx())
    want = np.nan_to_num(depth, nan=0., posinf=0.)
    assert out.dtype == np.float32 and out.shape == depth.shape
    np.testing.assert_array_equal(out, want)
    # Millimetres: float_depth_scale units per metre.
    mm = _tiff(tmp_path / 'mm.tiff', want * 1000)
    out = get_loader(get_modality_kind('depth')(loader='depth_tiff'))(
        mm, _ctx(float_depth_scale=1000.))
    np.testing.assert_allclose(out, want, rtol=1e-6)


def test_depth_tiff_rejects_bad_files(tmp_path):
    load = get_loader(get_modality_kind('depth')(loader='depth_tiff'))
    neg = _tiff(tmp_path / 'neg.tiff', -_depth())
    with pytest.raises(ValueError, match=f'{neg}: depth has negative'):
        load(neg, _ctx())
    u16 = _tiff(tmp_path / 'u16.tiff', np.ones((4, 4), np.uint16))
    with pytest.raises(ValueError, match=f'{u16}: float depth must be a '
                       '32-bit float image, got uint16'):
        load(u16, _ctx())
    rgb = _tiff(tmp_path / 'rgb.tiff', np.ones((4, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r'must have 1 channel\(s\)'):
        load(rgb, _ctx())


def test_float_tiff_keeps_the_file_channel_order(tmp_path):
    arr = np.random.default_rng(0).normal(size=(5, 6, 3)).astype(np.float32)
    # cv2 writes BGR: this file stores arr's channels in order.
    path = _tiff(tmp_path / 'x.tiff', np.ascontiguousarray(arr[..., ::-1]))
    out = get_loader(get_modality_kind('normals')(loader='float_tiff'))(
        path, _ctx('normals', 'x'))
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize('values', [
    'random', [0., 1e-30, 3.4e38, -2.5, np.inf, np.nan, 1.0000001]])
def test_packed_float32_png_round_trip(tmp_path, values):
    if values == 'random':
        arr = _depth(9, 11, seed=3)
    else:
        arr = np.array(values, np.float32).reshape(1, -1)
    raw = cv2.imdecode(np.frombuffer(decoders.encode_float32_png(arr),
                                     np.uint8), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint8 and raw.shape == (*arr.shape, 4)
    back = decoders.decode_float32_png(raw, 'x.png')
    assert back.dtype == np.float32
    # Bit-exact, NaN included.
    assert back.tobytes() == arr.astype('<f4').tobytes()
    # The R byte is the lowest byte of the little-endian float.
    assert raw[0, 0, 2] == arr.astype('<f4').view(np.uint8)[0, 0]


def test_depth_float32_png_loader(tmp_path):
    depth = _depth()
    path = _write(tmp_path / 'd.png', decoders.encode_float32_png(depth))
    out = get_loader(get_modality_kind('depth')(
        loader='depth_float32_png'))(path, _ctx())
    np.testing.assert_array_equal(out, depth)
    # A plain 16-bit depth PNG is not a packed float.
    ok, buf = cv2.imencode('.png', np.ones((4, 4), np.uint16))
    bad = _write(tmp_path / 'u16.png', buf.tobytes())
    with pytest.raises(ValueError, match=f'{bad}: a packed float32 PNG '
                       'must be 8-bit RGBA'):
        get_loader(get_modality_kind('depth')(loader='depth_float32_png'))(
            bad, _ctx())


def test_depth_exr_reads_or_says_why_not(tmp_path):
    load = get_loader(get_modality_kind('depth')(loader='depth_exr'))
    reason = decoders.exr_unavailable_reason()
    if reason is None:  # an OpenCV with OpenEXR, enabled before import
        depth = _depth()
        ok, buf = cv2.imencode('.exr', depth)
        path = _write(tmp_path / 'd.exr', buf.tobytes())
        np.testing.assert_array_equal(load(path, _ctx()), depth)
        return
    path = _write(tmp_path / 'd.exr', b'v/1\x01 not decodable here')
    with pytest.raises(RuntimeError,
                       match=f'cannot read {path}: .*OpenEXR') as err:
        load(path, _ctx())
    assert 'OPENCV_IO_ENABLE_OPENEXR' in str(err.value) or \
        'OpenEXR: NO' in str(err.value)


def test_float_depth_through_the_loading_transform(tmp_path, png_writer):
    """A config swaps the depth loader by declaring a kind; mask_valid and
    targets work as with the 16-bit PNG."""
    depth = _depth()
    mask = np.full(depth.shape, 255, np.uint8)
    mask[2, 3] = 0
    paths = dict(
        depth_path=_tiff(tmp_path / 'depth' / 'a.tiff', depth),
        mask_valid_path=png_writer(str(tmp_path / 'mask' / 'a.png'), mask))
    load = TRANSFORMS.build(dict(
        type='LoadMultiModalFromFile',
        modality_kinds=dict(depth=dict(name='depth_tiff_test', base='depth',
                                       loader='depth_tiff'))))
    out = load(dict(paths, modalities=('depth', ), targets=('depth', )))
    want = depth.copy()
    want[2, 3] = 0
    np.testing.assert_array_equal(out['depth'], want)
    np.testing.assert_array_equal(out['gt_depth_map'], want)
    assert out['field_kinds'] == dict(depth='depth_tiff_test',
                                      gt_depth_map='depth_tiff_test')


def test_png_unit_and_float_npy(tmp_path, png_writer):
    u16 = np.array([[0, 65535], [32768, 1]], np.uint16)
    path = png_writer(str(tmp_path / 'a.png'), u16)
    out = get_loader(get_modality_kind('depth')(loader='png_unit'))(
        path, _ctx(name='ir'))
    np.testing.assert_allclose(out, u16 / 65535., rtol=1e-6)
    np.save(tmp_path / 'b.npy', np.array(['a']))
    with pytest.raises(ValueError, match='b.npy: ir must be a numeric'):
        get_loader(get_modality_kind('depth')(loader='float_npy'))(
            str(tmp_path / 'b.npy'), _ctx(name='ir'))


@pytest.mark.parametrize('dtype,high', [(np.uint8, 256), (np.uint16, 300),
                                        (np.uint16, 65536)])
def test_label_map_lookup_equals_per_pixel_decode(dtype, high, monkeypatch):
    """8/16-bit maps decode each present value once and look pixels up;
    the ids, dtype and errors equal the per-pixel decode's."""
    from mmmae.datasets.transforms import loaders
    rng = np.random.default_rng(int(high))
    for trial in range(40):
        raw = rng.integers(0, high, (6, 7)).astype(dtype)
        if trial % 2:
            raw = np.minimum(raw, 40).astype(dtype)  # NYUv2-like
        monkeypatch.setattr(loaders, 'read_image', lambda p, b=None: raw)
        for reduce, num_classes, ignore in [(True, 40, 255), (False, 300, 255),
                                            (False, None, 65535),
                                            (True, None, 255)]:
            ctx = loaders.LoadContext(
                name='semseg', kind=None, options=dict(ignore_index=ignore),
                results=dict(reduce_zero_label=reduce,
                             num_classes=num_classes))
            try:
                expected = loaders._decode_labels(raw, 'x.png', reduce,
                                                  num_classes, ignore)
            except ValueError as err:
                with pytest.raises(ValueError) as got:
                    loaders.label_map('x.png', ctx)
                assert str(got.value) == str(err)
                continue
            got = loaders.label_map('x.png', ctx)
            assert got.dtype == expected.dtype
            assert np.array_equal(got, expected)


@pytest.mark.parametrize('reduce,num_classes,ignore,limit', [
    (True, 40, 255, 41), (False, 300, 255, 256), (True, None, 255, 255),
    (False, 40, 255, 40), (False, None, 65535, 0)])
def test_label_shift_is_the_table_below_its_limit(reduce, num_classes,
                                                  ignore, limit, monkeypatch):
    """The wrapping-add shortcut covers exactly the values whose decode is
    a valid uint8 id equal to (v + offset) mod 256, and ``label_map``
    gives the ids of the per-pixel decode on a map of every such value."""
    from mmmae.datasets.transforms import loaders
    offset, got = loaders._label_shift_u8(reduce, num_classes, ignore)
    assert got == limit
    values = np.arange(256, dtype=np.uint8)
    for v in values[:limit]:
        want = loaders._decode_labels(np.full(1, v, np.uint8), 'x', reduce,
                                      num_classes, ignore)
        assert want.dtype == np.uint8 and want[0] == np.add(v, offset)
    if limit:
        raw = values[:limit].reshape(1, -1)
        monkeypatch.setattr(loaders, 'read_image', lambda p, b=None: raw)
        ctx = loaders.LoadContext(
            name='semseg', kind=None, options=dict(ignore_index=ignore),
            results=dict(reduce_zero_label=reduce, num_classes=num_classes))
        want = loaders._decode_labels(raw, 'x', reduce, num_classes, ignore)
        out = loaders.label_map('x.png', ctx)
        assert out.dtype == want.dtype and np.array_equal(out, want)
    if 0 < limit < 256:  # the first value past it is bad or not shifted
        try:
            past = loaders._decode_labels(np.full(1, limit, np.uint8), 'x',
                                          reduce, num_classes, ignore)
        except ValueError:
            past = None
        assert past is None or past[0] != np.add(np.uint8(limit), offset)


@pytest.mark.parametrize('scale', [1000., 5000., 256., 1 / 3, 1e-3])
def test_depth_png_in_place_division_equals_plain(tmp_path, scale):
    """The depth loader's in-place float32 division gives the bytes of
    ``raw.astype(np.float32) / scale``, for every 16-bit value."""
    raw = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    ok, buf = cv2.imencode('.png', raw)
    assert ok
    path = _write(tmp_path / 'd.png', buf.tobytes())
    got = get_loader(get_modality_kind('depth'))(
        path, _ctx(depth_scale=scale))
    want = raw.astype(np.float32) / scale
    assert got.dtype == np.float32 and got.tobytes() == want.tobytes()


def test_label_max_shortcut_first_bad_value(monkeypatch):
    """The max-below-the-first-bad-value shortcut: NYUv2's first bad 8-bit
    value is 41; a map reaching it still raises, one below it decodes as
    the per-pixel decode does."""
    from mmmae.datasets.transforms import loaders
    table, bad = loaders._label_table_u8(True, 40, 255)
    assert loaders._first_bad(bad) == 41
    assert loaders._first_bad(np.zeros(256, np.uint8)) == 256
    ctx = loaders.LoadContext(name='semseg', kind=None, options={},
                              results=dict(num_classes=40))
    for top, ok in ((40, True), (41, False), (255, True)):
        raw = np.array([[0, 1], [top, 7]], np.uint8)
        monkeypatch.setattr(loaders, 'read_image', lambda p, b=None: raw)
        if ok:
            want = loaders._decode_labels(raw, 'x.png', True, 40, 255)
            got = loaders.label_map('x.png', ctx)
            assert got.dtype == want.dtype and np.array_equal(got, want)
        else:
            with pytest.raises(ValueError, match='label 41 on disk'):
                loaders.label_map('x.png', ctx)


def _image(path, arr):
    ok, buf = cv2.imencode(path.suffix, arr)
    assert ok
    return _write(path, buf.tobytes())


@pytest.mark.parametrize('name,shape', [
    ('rgb.png', (9, 11, 3)), ('grey.png', (9, 11)), ('rgba.png', (9, 11, 4)),
    ('rgb.jpg', (9, 11, 3)), ('rgb.bmp', (9, 11, 3)),
    ('rgba.tiff', (9, 11, 4))])
def test_rgb8_is_the_file_in_rgb_order(tmp_path, name, shape):
    """rgb comes out (H, W, 3) uint8 in R, G, B order: the file's channels
    (cv2 writes B, G, R), grey repeated, alpha dropped; whether OpenCV
    decodes to RGB itself or the loader swaps BGR."""
    arr = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    path = _image(tmp_path / name, arr)
    out = get_loader(get_modality_kind('image'))(path, _ctx('image', 'rgb'))
    stored = cv2.imread(path, cv2.IMREAD_UNCHANGED)  # a JPEG is lossy
    if stored.ndim == 2:
        want = np.repeat(stored[..., None], 3, axis=2)
    else:
        want = stored[..., 2::-1]
    assert out.dtype == np.uint8 and out.shape == shape[:2] + (3, )
    np.testing.assert_array_equal(out, want)


def test_rgb8_rejects_16_bit(tmp_path):
    path = _image(tmp_path / 'rgb16.png', np.ones((4, 5, 3), np.uint16))
    with pytest.raises(ValueError, match=f'{path}: rgb must be 8-bit, got '
                       'uint16'):
        get_loader(get_modality_kind('image'))(path, _ctx('image', 'rgb'))
