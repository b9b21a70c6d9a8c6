import os.path as osp

import numpy as np
import pytest

from mmmae.evaluation.functional import (SEISM_THRESHOLDS, boundary_counts,
                                         match_boundaries, ods_ois,
                                         seg_to_bmap, thin)

DATA = osp.join(osp.dirname(osp.dirname(__file__)), 'fixtures')


def _line(H=50, W=50, col=10, rows=slice(5, 45)):
    m = np.zeros((H, W), dtype=bool)
    m[rows, col] = True
    return m


def test_thin_matches_scikit_image():
    # Generated in /tmp with scikit-image 0.26.0
    # (skimage/morphology/_skeletonize.py: thin) on random binary maps.
    f = np.load(osp.join(DATA, 'thin_skimage-0.26.0.npz'))
    sizes = [h * w for h, w in f['shapes']]
    total = sum(sizes)
    inputs = np.unpackbits(f['inputs'])[:total].astype(bool)
    outputs = np.unpackbits(f['outputs'])[:total].astype(bool)
    start = 0
    for (h, w), n in zip(f['shapes'], sizes):
        m = inputs[start:start + n].reshape(h, w)
        expected = outputs[start:start + n].reshape(h, w)
        assert np.array_equal(thin(m), expected)
        start += n


def test_thin_band_to_line_and_keeps_lines():
    band = np.zeros((20, 30), dtype=bool)
    band[8:11, 3:27] = True  # 3 pixels thick
    line = thin(band)
    assert line.sum() < band.sum() and (line.sum(0)[5:25] == 1).all()
    assert np.array_equal(thin(line), line)
    assert np.array_equal(thin(_line()), _line())
    assert not thin(np.zeros((4, 4), dtype=bool)).any()


def test_seg_to_bmap_marks_the_first_pixel_of_a_change():
    seg = np.zeros((4, 5), dtype=int)
    seg[:, 3:] = 1
    b = seg_to_bmap(seg)
    # Column 2 differs from its east neighbour; the bottom-right pixel and
    # everything inside a region are not boundaries.
    expected = np.zeros((4, 5), dtype=bool)
    expected[:, 2] = True
    assert np.array_equal(b, expected)
    assert not seg_to_bmap(np.ones((3, 3))).any()


@pytest.mark.parametrize('method', ['max_cardinality', 'min_cost'])
def test_shifted_line_within_and_outside_tolerance(method):
    gt = _line(col=10)
    pred = _line(col=12)  # 2 pixels to the right
    assert match_boundaries(pred, gt, 2.0, method) == gt.sum()
    assert match_boundaries(pred, gt, 1.99, method) == 0
    # Distance 5 = (3, 4) is inside a tolerance of exactly 5.
    a = np.zeros((10, 10), dtype=bool)
    b = np.zeros((10, 10), dtype=bool)
    a[1, 1], b[4, 5] = True, True
    assert match_boundaries(a, b, 5.0, method) == 1
    assert match_boundaries(a, b, 4.999, method) == 0


@pytest.mark.parametrize('method', ['max_cardinality', 'min_cost'])
def test_matching_is_one_to_one(method):
    gt = np.zeros((9, 9), dtype=bool)
    gt[4, 4] = True
    pred = np.zeros_like(gt)
    pred[4, 3] = pred[4, 5] = True  # both within 1 px of the one gt pixel
    assert match_boundaries(pred, gt, 1.5, method) == 1
    # An assignment, not a nearest-neighbour count: p1 can reach g1 or g2,
    # p2 only g1; the maximum matching pairs p1-g2 and p2-g1.
    gt = np.zeros((9, 9), dtype=bool)
    pred = np.zeros_like(gt)
    gt[4, 4] = gt[4, 6] = True  # g1, g2
    pred[4, 5] = pred[4, 3] = True  # p1 (between), p2 (left of g1)
    assert match_boundaries(pred, gt, 1.0, method) == 2


def test_min_cost_and_max_cardinality_agree_on_random_maps():
    rng = np.random.default_rng(0)
    for _ in range(15):
        gt = thin(rng.random((30, 40)) > 0.8)
        pred = thin(rng.random((30, 40)) > 0.8)
        for tol in (1.0, 2.3):
            assert match_boundaries(pred, gt, tol, 'min_cost') == \
                match_boundaries(pred, gt, tol, 'max_cardinality')


def test_match_rejects_unknown_method_and_sizes():
    with pytest.raises(ValueError, match='method'):
        match_boundaries(_line(), _line(), 1.0, 'greedy')
    with pytest.raises(ValueError, match=r'\(50, 50\)'):
        match_boundaries(_line(), np.zeros((5, 5), bool), 1.0)


def test_counts_of_a_perfect_and_a_shifted_prediction():
    gt = _line()
    n = int(gt.sum())
    diag = np.hypot(50, 50)
    # Tolerance 0.0075 * 70.7 = 0.53 px: a 1-pixel shift is a miss.
    c = boundary_counts(np.roll(gt, 1, axis=1).astype(float), gt, 0.0075)
    assert (c['cntR'] == 0).all() and (c['sumP'] == n).all()
    assert (c['sumR'] == n).all()
    # 0.03 * 70.7 = 2.1 px: matched at every threshold.
    c = boundary_counts(np.roll(gt, 2, axis=1).astype(float), gt, 2.0 / diag)
    assert (c['cntR'] == n).all() and (c['cntP'] == n).all()
    scores = ods_ois({k: v[None] for k, v in c.items()})
    assert scores['odsF'] == pytest.approx(1.0)


def test_thick_prediction_is_thinned_before_matching():
    gt = _line(col=10)
    prob = np.zeros((50, 50))
    prob[5:45, 9:12] = 1.0  # 3-pixel band on the line
    c = boundary_counts(prob, gt, 1.5 / np.hypot(50, 50), thresholds=[0.5])
    # The 120-pixel band becomes its 38-pixel centre line (thinning eats
    # one pixel at each end), all of it matched: precision 1, not 1/3.
    assert c['sumP'][0] == c['cntP'][0] == 38


def test_thresholds_and_graded_probability():
    gt = _line()
    prob = np.zeros((50, 50))
    prob[5:25, 10] = 0.8  # upper half of the line, confident
    prob[25:45, 10] = 0.3  # lower half, unsure
    prob[5:45, 30] = 0.5  # a false line
    c = boundary_counts(prob, gt, 0.01, thresholds=[0.2, 0.4, 0.6])
    assert c['cntR'].tolist() == [40, 20, 20]
    assert c['sumP'].tolist() == [80, 60, 20]
    # 0.2: P = .5, R = 1; 0.4: P = 1/3, R = .5; 0.6: P = 1, R = .5. F is
    # 2/3 at 0.2 and 0.6: the first wins, as MATLAB's max.
    s = ods_ois({k: v[None] for k, v in c.items()}, [0.2, 0.4, 0.6])
    assert s['odsF'] == pytest.approx(2 / 3)
    assert s['ods_threshold'] == 0.2
    assert (s['ods_precision'], s['ods_recall']) == (0.5, 1.0)


def test_empty_maps_follow_seism_corner_cases():
    gt = _line()
    empty = np.zeros((50, 50), dtype=bool)
    # No prediction: P = 1, R = 0 -> F = 0.
    c = boundary_counts(np.zeros((50, 50)), gt, 0.01, thresholds=[0.5])
    assert c['sumP'][0] == 0 and c['cntR'][0] == 0
    assert ods_ois({k: v[None] for k, v in c.items()}, [0.5])['odsF'] == 0
    # No ground truth: R = 1, P = 0 -> F = 0, whatever is predicted.
    c = boundary_counts(gt.astype(float), empty, 0.01, thresholds=[0.5])
    assert c['sumR'][0] == 0 and c['sumP'][0] == gt.sum()
    assert ods_ois({k: v[None] for k, v in c.items()}, [0.5])['odsF'] == 0


def test_ods_sums_counts_over_images_and_ois_picks_per_image():
    # Image A is best at threshold 0, image B at threshold 1.
    counts = dict(cntR=np.array([[8, 4], [2, 6]]),
                  sumR=np.array([[10, 10], [10, 10]]),
                  cntP=np.array([[8, 4], [2, 6]]),
                  sumP=np.array([[10, 4], [20, 6]]))
    s = ods_ois(counts, [0.3, 0.7])
    # Dataset: t0 P = 10/30, R = 10/20; t1 P = 10/10, R = 10/20.
    f0 = 2 * (1 / 3) * 0.5 / (1 / 3 + 0.5)
    f1 = 2 * 1 * 0.5 / 1.5
    assert s['odsF'] == pytest.approx(max(f0, f1))
    assert s['ods_threshold'] == 0.7
    # OIS: A at t0 (F .8 vs .57), B at t1 (F .75 vs .13): P 14/16, R 14/20.
    p, r = 14 / 16, 14 / 20
    assert s['oisF'] == pytest.approx(2 * p * r / (p + r))


def test_ignored_pixels_leave_both_maps():
    gt = _line()
    prob = gt.astype(float)
    prob[:, 40] = 1.0  # a false line inside the ignored area
    ignore = np.zeros((50, 50), dtype=bool)
    ignore[:, 35:] = True
    c = boundary_counts(prob, gt, 0.01, thresholds=[0.5], ignore=ignore)
    assert c['sumP'][0] == gt.sum() == c['cntP'][0]


def test_padding_does_not_widen_the_tolerance():
    gt = _line()
    prob = np.roll(gt, 1, axis=1).astype(float)  # 1 px off
    # 0.015 * diag(50x50) = 1.06 px: matched.
    c = boundary_counts(prob, gt, 0.015, thresholds=[0.5])
    assert c['cntR'][0] == gt.sum()
    # The same image padded to 50x200: still 1.06 px, not 0.015 * 206.
    pad = np.zeros((50, 150))
    ignore = np.concatenate([np.zeros((50, 50), bool),
                             np.ones((50, 150), bool)], axis=1)
    far = np.roll(gt, 2, axis=1)  # 2 px off: would match within 3.1 px
    c = boundary_counts(np.concatenate([far.astype(float), pad], 1),
                        np.concatenate([gt, pad.astype(bool)], 1), 0.015,
                        thresholds=[0.5], ignore=ignore)
    assert c['cntR'][0] == 0 and c['sumR'][0] == gt.sum()


def test_seism_thresholds():
    assert len(SEISM_THRESHOLDS) == 99
    assert SEISM_THRESHOLDS[0] == 0.01 and SEISM_THRESHOLDS[-1] == 0.99
    assert SEISM_THRESHOLDS[19] == 0.2  # parsed as MATLAB's str2double
