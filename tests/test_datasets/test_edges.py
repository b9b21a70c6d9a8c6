import numpy as np

from mmmae.datasets.edges import label_boundaries, thin

# Made with skimage.morphology.thin (scikit-image 0.26.0) on a random
# dilated mask (numpy default_rng(5)); mmmae re-implements the algorithm.
MASK = ['00011101110110', '00011111111111', '01111111111111',
        '11111111111100', '11100111110001', '01100011111001',
        '00001100011111', '01101111011111', '11101111011111',
        '11111111111000']
SKIMAGE_THIN = ['00000000000000', '00000000000110', '00011100011000',
                '00100010100000', '01000001100001', '01000010010001',
                '00000100001010', '00000100000100', '01000110001000',
                '00111001110000']


def _arr(rows):
    return np.array([[c == '1' for c in r] for r in rows])


def test_thin_matches_scikit_image():
    assert np.array_equal(thin(_arr(MASK)), _arr(SKIMAGE_THIN))


def test_thin_keeps_thin_lines_and_thins_bars():
    bar = np.zeros((7, 12), bool)
    bar[2:5, 1:11] = True  # 3 pixels thick
    out = thin(bar)
    assert out.sum(0)[2:10].tolist() == [1] * 8  # one pixel per column
    assert np.array_equal(thin(out), out)


def test_label_boundaries_two_regions():
    labels = np.zeros((6, 8), np.int64)
    labels[:, 4:] = 7
    edge = label_boundaries(labels)
    assert edge.dtype == np.uint8
    # the Laplacian marks columns 3 and 4; thinning keeps one of them (and
    # may shorten a line end by a pixel, as skimage's thin does)
    assert edge.sum(1).max() == 1 and edge.sum() >= 5
    assert set(np.nonzero(edge)[1]) <= {3, 4}
    assert not label_boundaries(np.full((5, 5), 3)).any()
