import cv2
import numpy as np
import pytest

from mmmae.datasets.transforms import decoders


def test_binary_map_encodings():
    png = np.array([[0, 255], [255, 0]], np.uint8)
    assert decoders.binary_map(png, 'e.png', 'edge').tolist() == [[0, 1],
                                                                   [1, 0]]
    # in a {0, 1} map (or a .npy) 255 is ignore
    arr = np.array([[0, 1], [255, 1]], np.float32)
    assert decoders.binary_map(arr, 'e.npy', 'edge').tolist() == [[0, 1],
                                                                   [255, 1]]
    assert decoders.binary_map(png, 'e.npy', 'edge').tolist() == [
        [0, 255], [255, 0]]
    with pytest.raises(ValueError, match=r'e.png: edge map is not binary: '
                       r'values \[0, 7\]'):
        decoders.binary_map(np.array([[0, 7]], np.uint8), 'e.png', 'edge')
    with pytest.raises(ValueError, match='single-channel'):
        decoders.binary_map(np.zeros((2, 2, 3), np.uint8), 'e.png', 'edge')


def test_normals_tolerances():
    n = np.zeros((1, 3, 3), np.float32)
    n[0, 0] = [0, 0, -1.05]  # within 0.1 of unit: renormalised
    n[0, 1] = [0.05, 0, 0]  # below 0.1: invalid
    out = decoders.normals_from_array(n, 'n.npy')
    np.testing.assert_allclose(out[0, 0], [0, 0, -1])
    assert not out[0, 1].any() and not out[0, 2].any()
    n[0, 2] = [0, 0.5, 0]
    with pytest.raises(ValueError, match=r'n.npy: normals are not unit '
                       r'length on 1 valid pixel\(s\) \(e.g. length 0.500'):
        decoders.normals_from_array(n, 'n.npy')
    with pytest.raises(ValueError, match=r'\(H, W, 3\)'):
        decoders.normals_from_array(np.zeros((2, 2)), 'n.npy')
    # 16-bit PNG: 32768 is the 0 vector
    png = np.full((1, 1, 3), 32768, np.uint16)
    assert not decoders.normals_from_png(png, 'n.png').any()


def test_saliency_threshold_and_depth_npy(tmp_path):
    sal = np.array([[0, 127, 128, 255]], np.uint8)
    assert decoders.saliency_from_png(sal, 's.png').tolist() == [[0, 0, 1,
                                                                  1]]
    path = str(tmp_path / 'd.npy')
    np.save(path, np.array([[1.5, np.nan]], np.float32))
    assert decoders.depth_from_npy(path).tolist() == [[1.5, 0.0]]
    np.save(path, np.array([[-1.0]]))
    with pytest.raises(ValueError, match='d.npy: depth has negative'):
        decoders.depth_from_npy(path)
    with open(path, 'wb') as f:
        f.write(b'not numpy')
    with pytest.raises(ValueError, match='cannot read .*d.npy'):
        decoders.depth_from_npy(path)


@pytest.mark.parametrize('ext,shape,dtype', [
    ('.png', (9, 11), np.uint8), ('.png', (9, 11), np.uint16),
    ('.png', (9, 11, 3), np.uint8), ('.png', (9, 11, 4), np.uint16),
    ('.jpg', (9, 11, 3), np.uint8), ('.tiff', (9, 11), np.float32)])
def test_read_image_local_fast_path_equals_imdecode(tmp_path, ext, shape,
                                                   dtype):
    """A local file is read with cv2.imread: the same array (dtype,
    channels, bytes) as cv2.imdecode of its bytes, the plain path."""
    rng = np.random.default_rng(0)
    arr = (rng.random(shape) * 1000).astype(dtype) if dtype == np.float32 \
        else rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype,
                          endpoint=True)
    ok, buf = cv2.imencode(ext, arr)
    assert ok
    path = tmp_path / f'a{ext}'
    path.write_bytes(buf.tobytes())
    for flags in (cv2.IMREAD_UNCHANGED, cv2.IMREAD_COLOR,
                  cv2.IMREAD_GRAYSCALE):
        want = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8),
                            flags)
        if want is None:  # what OpenCV cannot convert fails on both paths
            with pytest.raises(ValueError, match='cannot decode'):
                decoders.read_image(str(path), flags=flags)
            continue
        got = decoders.read_image(str(path), flags=flags)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()


def test_read_image_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.png'):
        decoders.read_image(str(tmp_path / 'missing.png'))
    (tmp_path / 'bad.png').write_bytes(b'not an image')
    with pytest.raises(ValueError, match='cannot decode .*bad.png'):
        decoders.read_image(str(tmp_path / 'bad.png'))
