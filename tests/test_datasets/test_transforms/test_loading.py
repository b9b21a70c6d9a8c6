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
