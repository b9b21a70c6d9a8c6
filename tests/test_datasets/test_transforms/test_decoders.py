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
