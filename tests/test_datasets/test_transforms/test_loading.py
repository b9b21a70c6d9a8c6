import numpy as np
import pytest

from mmmae.datasets.transforms import LoadMultiModalFromFile


def _results(paths, modalities=('rgb', 'depth'), targets=('depth', 'semseg'),
             **extra):
    r = {f'{k}_path': v for k, v in paths.items()}
    r.update(modalities=modalities, targets=targets, img_path=paths['rgb'],
             num_classes=40)  # as NYUv2MultiTaskDataset sets it
    r.update(extra)
    return r


def test_decoding(sample_files):
    paths, arrays = sample_files
    out = LoadMultiModalFromFile()(_results(paths))
    assert np.array_equal(out['rgb'], arrays['rgb'])  # RGB order kept
    depth = arrays['depth'] / 1000.
    depth[arrays['mask_valid'] == 0] = 0  # mask_valid applied
    np.testing.assert_allclose(out['depth'], depth, rtol=1e-6)
    assert out['depth'].dtype == np.float32
    np.testing.assert_allclose(out['gt_depth_map'], depth, rtol=1e-6)
    assert out['gt_depth_map'] is not out['depth']
    raw = arrays['semseg'].astype(int)
    want = np.where(raw == 0, 255, raw - 1)
    assert np.array_equal(out['gt_seg_map'], want)
    assert out['ori_shape'] == out['img_shape'] == (8, 12)
    assert out['field_kinds'] == dict(rgb='image', depth='depth',
                                      gt_depth_map='depth',
                                      gt_seg_map='label')


def test_targets_after_inputs(sample_files):
    paths, _ = sample_files
    r = LoadMultiModalFromFile(load_targets=False)(_results(paths))
    assert 'gt_seg_map' not in r
    r['rgb'] = r['rgb'][:4]  # e.g. a resize of the inputs
    r = LoadMultiModalFromFile(load_inputs=False)(r)
    assert r['gt_seg_map'].shape == (8, 12) and r['img_shape'] == (8, 12)


def test_semseg_input_and_no_reduce(sample_files):
    paths, arrays = sample_files
    r = LoadMultiModalFromFile(reduce_zero_label=False, num_classes=41)(
        _results(paths, modalities=('semseg', ), targets=()))
    assert np.array_equal(r['semseg'], arrays['semseg'])


def test_8bit_depth_is_an_error(sample_files, png_writer):
    paths, arrays = sample_files
    png_writer(paths['depth'], (arrays['depth'] // 100).astype(np.uint8))
    with pytest.raises(ValueError, match=f'{paths["depth"]}.*8-bit|uint8'):
        LoadMultiModalFromFile()(_results(paths))


def test_label_above_40_is_an_error(sample_files, png_writer):
    paths, arrays = sample_files
    bad = arrays['semseg'].copy()
    bad[2, 3] = 41
    png_writer(paths['semseg'], bad)
    with pytest.raises(ValueError, match=f'{paths["semseg"]}: label 41'):
        LoadMultiModalFromFile()(_results(paths))
    bad[2, 3] = 255  # an explicit ignore value on disk is fine
    png_writer(paths['semseg'], bad)
    out = LoadMultiModalFromFile()(_results(paths))
    assert out['gt_seg_map'][2, 3] == 255


def test_size_mismatch_names_both_files(sample_files, png_writer):
    paths, arrays = sample_files
    png_writer(paths['depth'], arrays['depth'][:, :10])
    with pytest.raises(ValueError) as err:
        LoadMultiModalFromFile()(_results(paths))
    assert paths['rgb'] in str(err.value) and paths['depth'] in str(
        err.value)


def test_corrupt_and_missing_files(sample_files):
    paths, _ = sample_files
    with open(paths['rgb'], 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n garbage')
    with pytest.raises(ValueError, match=f'cannot decode {paths["rgb"]}'):
        LoadMultiModalFromFile()(_results(paths))
    paths = dict(paths, rgb=paths['rgb'] + '.gone')
    with pytest.raises(FileNotFoundError, match='.gone'):
        LoadMultiModalFromFile()(_results(paths))


@pytest.mark.parametrize('mask_dtype', [np.uint8, np.uint16, bool])
def test_apply_valid_mask_equals_boolean_assignment(mask_dtype):
    """``apply_valid_mask`` (cv2.copyTo on uint8 masks) gives the bytes of
    ``depth[mask == 0] = 0`` for any float32 (NaN, inf, -0.0 kept where
    valid) and any mask values."""
    from mmmae.datasets.transforms.loading import apply_valid_mask
    rng = np.random.default_rng(0)
    for trial in range(20):
        h, w = rng.integers(1, 40, 2)
        depth = rng.normal(0, 5, (h, w)).astype(np.float32)
        depth.flat[rng.integers(0, depth.size, 4)] = [np.nan, np.inf,
                                                      -0.0, -np.inf]
        mask = rng.integers(0, 3, (h, w)) * rng.integers(0, 200, (h, w))
        mask = mask.astype(mask_dtype)
        want = depth.copy()
        want[mask == 0] = 0
        got = apply_valid_mask(depth.copy(), mask)
        assert got.dtype == np.float32 and got.shape == (h, w)
        assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize('mask_dtype', [np.uint8, np.uint16])
def test_mask_valid_gives_the_bytes_of_masking_the_metres(
        sample_files, png_writer, mask_dtype):
    """The depth loader zeroes invalid pixels on the 16-bit values (an
    8-bit mask) or the transform does it on the metres (a 16-bit mask):
    either way the bytes of ``depth / 1000`` with ``[mask == 0] = 0``,
    for the input and the target."""
    paths, arrays = sample_files
    rng = np.random.default_rng(1)
    mask = (rng.integers(0, 2, arrays['depth'].shape) *
            rng.integers(1, 200, arrays['depth'].shape)).astype(mask_dtype)
    png_writer(paths['mask_valid'], mask)
    want = arrays['depth'].astype(np.float32) / np.float32(1000.)
    want[mask == 0] = 0
    out = LoadMultiModalFromFile()(_results(paths))
    for key in ('depth', 'gt_depth_map'):
        assert out[key].dtype == np.float32
        assert out[key].tobytes() == want.tobytes()


def test_depth_loader_applies_only_a_matching_8bit_mask():
    from mmmae.datasets.modality_kinds import get_modality_kind
    from mmmae.datasets.transforms.loaders import LoadContext, get_loader
    import cv2
    import tempfile
    raw = np.arange(12, dtype=np.uint16).reshape(3, 4) * 700
    with tempfile.TemporaryDirectory() as tmp:
        path = f'{tmp}/d.png'
        assert cv2.imwrite(path, raw)
        load = get_loader(get_modality_kind('depth'))
        ok = np.ones((3, 4), np.uint8)
        ok[1, 2] = 0
        for mask, applied in [(ok, True), (ok.astype(np.uint16), False),
                              (ok[:2], False), (None, False)]:
            ctx = LoadContext(name='depth', kind=get_modality_kind('depth'),
                              results={}, valid_mask=mask)
            got = load(path, ctx)
            assert ctx.mask_applied == applied
            want = raw.astype(np.float32) / np.float32(1000.)
            if applied:
                want[1, 2] = 0
            assert got.tobytes() == want.tobytes()


def test_mask_of_another_size_names_depth_and_mask(sample_files,
                                                   png_writer):
    paths, arrays = sample_files
    png_writer(paths['mask_valid'], arrays['mask_valid'][:, :5])
    with pytest.raises(ValueError) as err:
        LoadMultiModalFromFile()(_results(paths))
    assert paths['depth'] in str(err.value) and \
        paths['mask_valid'] in str(err.value)
