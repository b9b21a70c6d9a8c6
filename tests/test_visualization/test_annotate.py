"""annotate: titles, depth colour bars, legends, grids, classification
captions; each checked on the pixels drawn."""
import numpy as np
import pytest

from mmmae.visualization import annotate as A
from mmmae.visualization import colorize_depth


def _ramp(h=24, w=32, lo=1., hi=5.):
    return np.tile(np.linspace(lo, hi, w, dtype=np.float32), (h, 1))


def test_title_strip_holds_dark_text_and_keeps_the_panel():
    img = np.full((40, 80, 3), 200, np.uint8)
    out = A.title_panel(img, 'depth GT [m]')
    assert out.shape == (A.TITLE_HEIGHT + 40, 80, 3)
    strip = out[:A.TITLE_HEIGHT]
    assert (strip < 100).all(-1).sum() > 20  # black text drawn
    assert (strip == 255).all(-1).mean() > 0.5  # on white
    np.testing.assert_array_equal(out[A.TITLE_HEIGHT:], img)
    # A title wider than the panel is shrunk / cut, never drawn outside.
    narrow = A.title_panel(np.zeros((8, 30, 3), np.uint8), 'x' * 40)
    assert narrow.shape == (A.TITLE_HEIGHT + 8, 30, 3)
    assert A.fit_text('x' * 40, 30)[0].endswith('..')


def test_colour_bar_rows_are_the_stated_metres():
    bar, ticks = A.colour_bar(1.0, 5.0, 100, num_ticks=5)
    assert bar.shape == (100, A.BAR_WIDTH, 3)
    assert [v for _, v in ticks] == pytest.approx([5., 4., 3., 2., 1.])
    assert [r for r, _ in ticks] == [0, 25, 50, 74, 99]
    for row, value in ticks:
        expected = colorize_depth(np.full((1, 1), value, np.float32), 1., 5.)
        # within half a row of depth: one colour-map step at most
        assert np.abs(bar[row, 0].astype(int) - expected[0, 0]).max() <= 6
    # top = far end (dark in magma), bottom = near (bright)
    assert bar[0].sum() < bar[-1].sum()


def test_depth_panel_bar_matches_map_and_invalid_is_hatched():
    depth = _ramp()
    depth[:6, :6] = 0  # no depth
    lo, hi = 1., 5.
    out = A.depth_panel(depth, lo, hi, title='depth GT [m]', min_side=1)
    body = out[A.TITLE_HEIGHT:A.TITLE_HEIGHT + 24]
    shown = body[:, :32]
    # the hatch greys, exactly there
    greys = {tuple(c) for c in np.asarray(A.HATCH)}
    assert {tuple(c) for c in shown[:6, :6].reshape(-1, 3)} <= greys
    assert not ({tuple(c) for c in shown[6:].reshape(-1, 3)} & greys)
    # a map pixel of depth d has the colour of the bar's row for d
    bar = body[:, 32 + A.GAP:32 + A.GAP + A.BAR_WIDTH]
    _, ticks = A.colour_bar(lo, hi, 24)
    col = int(np.argmin(np.abs(depth[10] - 5.0)))  # the 5.00 m column
    np.testing.assert_array_equal(shown[10, col], bar[ticks[0][0], 0])
    col = int(np.argmin(np.abs(depth[10] - 1.0)))
    np.testing.assert_array_equal(shown[10, col], bar[ticks[-1][0], 0])
    # the caption under the map says what hatching means (text drawn)
    assert out.shape[0] == A.TITLE_HEIGHT + 24 + 4 + 2 * A.LINE
    assert (out[-A.LINE:] < 100).all(-1).sum() > 20


def test_gt_and_prediction_share_one_scale():
    gt = _ramp()
    gt[0] = 0
    pred = gt * 1.5 + 0.2
    pred[0] = 2.0
    lo, hi = A.depth_scale(gt)
    # percentiles of the valid gt only: zeros do not drag vmin to 0
    valid = gt[gt > 0]
    assert (lo, hi) == pytest.approx(tuple(np.percentile(valid, (2, 98))))
    p_gt = A.depth_panel(gt, lo, hi, min_side=1)[:24, :32]
    p_pr = A.depth_panel(pred, lo, hi, np.zeros_like(gt, bool),
                         min_side=1)[:24, :32]
    # the same depth gets the same colour in both panels
    y, x = np.nonzero(np.isclose(gt, 2.0, atol=0.07))
    assert len(y)
    value = gt[y[0], x[0]]
    np.testing.assert_array_equal(
        p_gt[y[0], x[0]],
        colorize_depth(np.full((1, 1), value, np.float32), lo, hi)[0, 0])
    np.testing.assert_array_equal(p_pr[0, 0], colorize_depth(
        np.full((1, 1), 2.0, np.float32), lo, hi)[0, 0])
    # valid ranges of both give the same bar (same vmin/vmax drawn)
    np.testing.assert_array_equal(
        A.depth_panel(gt, lo, hi, min_side=1)[:24, 32:],
        A.depth_panel(pred, lo, hi, np.zeros_like(gt, bool),
                      min_side=1)[:24, 32:])


def test_legend_lists_exactly_the_classes_present_largest_first():
    label = np.full((80, 40), 255, np.int64)  # 80 px: 4 legend rows fit
    label[:, :20] = 3
    label[:10, 20:] = 7
    label[10:12, 20:] = 0
    ids, more = A.legend_entries(label)
    assert (ids, more) == ([3, 7, 0], 0)
    assert A.legend_entries(label, max_items=2) == ([3, 7], 1)
    names = ['c%d' % i for i in range(10)]
    palette = [[10 * i, 5 * i, 255 - 10 * i] for i in range(10)]
    out = A.label_panel(label, palette, names, title='semseg GT',
                        min_side=1)
    body = out[A.TITLE_HEIGHT:]
    # pure palette colours on the map; ignored pixels black
    np.testing.assert_array_equal(body[20, 5], palette[3])
    np.testing.assert_array_equal(body[5, 30], palette[7])
    assert (body[30, 30] == 0).all()
    assert body.shape[0] == 80
    # one swatch per class present, in legend order, then "ignored"
    key = body[:, 40 + A.GAP:]
    for i, idx in enumerate(ids):
        y = 4 + A.LINE * i + A.SWATCH // 2
        np.testing.assert_array_equal(key[y, 2 + A.SWATCH // 2],
                                      palette[idx])
    y = 4 + A.LINE * 3 + A.SWATCH // 2
    assert (key[y, 2 + A.SWATCH // 2] == A.IGNORE_COLOUR).all()
    # nothing below the last row
    assert (key[4 + A.LINE * 4:] == 255).all()


def test_legend_is_cut_to_what_fits_with_a_more_row():
    label = np.repeat(np.arange(30), 4)[None].repeat(60, 0)  # 30 classes
    out = A.label_panel(label, None, None, ignore_index=None,
                        min_side=1, max_items=50)
    rows = (60 - 4) // A.LINE  # 3 rows fit a 60 px map
    key = out[:, 120 + A.GAP:]
    # rows - 1 swatches, then the "... +k more" text row
    for i in range(rows - 1):
        y = 4 + A.LINE * i + A.SWATCH // 2
        assert not (key[y, 2 + A.SWATCH // 2] == 255).all()
    y = 4 + A.LINE * (rows - 1) + A.SWATCH // 2
    assert (key[y, 2:2 + A.SWATCH] == 255).all()  # no swatch: text row
    ids, more = A.legend_entries(label, None, rows)
    assert len(ids) + more == 30


def test_small_panels_are_enlarged_and_grid_pads():
    small = np.zeros((16, 20, 3), np.uint8)
    assert A.enlarge(small).shape == (160, 200, 3)
    assert A.label_panel(np.zeros((16, 20)), None, None).shape[0] >= 160
    g = A.grid([np.zeros((10, 5, 3), np.uint8), None,
                np.zeros((4, 7, 3), np.uint8)], ncols=2, gap=1)
    assert g.shape == (10 + 1 + 4, 7 + 1 + 1, 3)
    assert (g[:10, 5:] == 255).all()  # padding and the blank cell
    assert (g[11:, :7] == 0).all()
    with pytest.raises(ValueError, match='at least one panel'):
        A.grid([None])


def test_classification_panel_colours_right_and_wrong():
    img = np.full((32, 32, 3), 90, np.uint8)
    right = A.classification_panel(img, 'red', 'red', 0.9, title='Art')
    wrong = A.classification_panel(img, 'red', 'blue', 0.4, title='Art')
    assert right.shape[1] == 160  # enlarged 5x
    text_r = right[A.TITLE_HEIGHT + 160:]
    text_w = wrong[A.TITLE_HEIGHT + 160:]
    green = (text_r[..., 1] > 100) & (text_r[..., 0] < 80)
    red = (text_w[..., 0] > 150) & (text_w[..., 1] < 80)
    assert green.sum() > 10 and red.sum() > 10


def test_normals_and_grey_panels_hatch_what_has_no_value():
    normals = np.zeros((20, 20, 3), np.float32)
    normals[..., 2] = 1  # facing the camera: (0, 0, 1) -> (128, 128, 255)
    normals[:4] = 0  # no normal
    out = A.normals_panel(normals, 'normals GT', min_side=1)
    body = out[A.TITLE_HEIGHT:A.TITLE_HEIGHT + 20]
    np.testing.assert_array_equal(body[10, 10], [128, 128, 255])
    greys = {tuple(c) for c in np.asarray(A.HATCH)}
    assert {tuple(c) for c in body[:4].reshape(-1, 3)} <= greys
    assert out.shape[0] == A.TITLE_HEIGHT + 20 + 4 + 2 * A.LINE  # captions
    edge = np.zeros((20, 20), np.float32)
    edge[:, 10:] = 1
    edge[0] = 255  # ignored
    out = A.grey_panel(edge, 'boundary GT', edge == 255, min_side=1)
    body = out[A.TITLE_HEIGHT:A.TITLE_HEIGHT + 20]
    assert (body[5, 2] == 0).all() and (body[5, 15] == 255).all()
    assert {tuple(c) for c in body[0].reshape(-1, 3)} <= greys
