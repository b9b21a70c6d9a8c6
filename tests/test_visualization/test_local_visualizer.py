import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmpretrain.structures import DataSample
from mmseg.structures import SegDataSample

from mmmae.datasets.nyuv2_classes import NYUV2_CLASSES
from mmmae.visualization import (MultiTaskLocalVisualizer, colorize_depth,
                                 depth_range)
from mmmae.visualization import annotate as A


def _sample(h=16, w=24, pred=True, gt=True):
    s = SegDataSample()
    labels = torch.zeros(1, h, w, dtype=torch.long)
    labels[:, :, w // 2:] = 3
    depth = torch.linspace(1, 5, w).expand(1, h, w).clone()
    depth[:, 0] = 0  # invalid row
    if gt:
        s.gt_sem_seg = PixelData(data=labels)
        s.gt_depth_map = PixelData(data=depth)
    if pred:
        s.pred_sem_seg = PixelData(data=labels.flip(-1))
        s.pred_depth_map = PixelData(data=depth * 2)
    return s


@pytest.fixture
def vis(tmp_path):
    return MultiTaskLocalVisualizer(name=f'vis_{tmp_path.name}', gap=2)


def _has_text(strip):
    return (strip < 100).all(-1).sum() > 20


def test_colorize_depth_near_bright_invalid_black():
    depth = np.array([[1.0, 2.0, 4.0, 0.0]], np.float32)
    rgb = colorize_depth(depth, vmin=1.0, vmax=4.0)
    assert rgb.shape == (1, 4, 3) and rgb.dtype == np.uint8
    brightness = rgb.astype(int).sum(-1)[0]
    assert brightness[0] > brightness[1] > brightness[2]
    assert brightness[3] == 0
    assert depth_range(np.zeros((2, 2))) == (0., 1.)
    with pytest.raises(ValueError, match='colour map'):
        colorize_depth(depth, cmap='nope')


def test_task_rows_are_titled_gt_and_prediction(vis):
    image = np.full((16, 24, 3), 128, np.uint8)
    rows = vis._task_rows(image, _sample(), True, True, False)
    assert len(rows) == 2  # semseg, depth (TASK_FIELDS order)
    for gt, pred in rows:
        assert _has_text(gt[:A.TITLE_HEIGHT])
        assert _has_text(pred[:A.TITLE_HEIGHT])
    (seg_gt, seg_pred), (depth_gt, depth_pred) = rows
    k = 10  # 16 px enlarged to >= 160
    # semseg: the map in palette colours, mirrored in the prediction
    _, palette = vis._classes_palette()
    body = seg_gt[A.TITLE_HEIGHT:A.TITLE_HEIGHT + 16 * k]
    np.testing.assert_array_equal(body[5, 5], palette[0])
    np.testing.assert_array_equal(body[5, 24 * k - 5], palette[3])
    np.testing.assert_array_equal(
        seg_pred[A.TITLE_HEIGHT + 5, 5], palette[3])
    # legend: swatches of exactly classes 0 and 3 (equal areas: id order)
    key = body[:, 24 * k + A.GAP:]
    for i, idx in enumerate([0, 3]):
        y = 4 + A.LINE * i + A.SWATCH // 2
        np.testing.assert_array_equal(key[y, 2 + A.SWATCH // 2],
                                      palette[idx])
    assert (key[4 + A.LINE * 2:] == 255).all()


def test_depth_gt_and_prediction_share_the_gt_scale(vis):
    image = np.zeros((16, 24, 3), np.uint8)
    s = _sample()
    gt = s.gt_depth_map.data[0].numpy()
    pred = gt.copy()
    pred[:, :12] = 3.0  # the left half differs, the right half equals gt
    pred[0] = 3.0
    s.pred_depth_map = PixelData(data=torch.from_numpy(pred)[None])
    _, (depth_gt, depth_pred) = vis._task_rows(image, s, True, True, False)
    k, t = 10, A.TITLE_HEIGHT
    g = depth_gt[t:t + 16 * k]
    p = depth_pred[t:t + 16 * k]
    # same depth -> same colour (right half); the scale is the gt's
    np.testing.assert_array_equal(g[50:, 12 * k:24 * k],
                                  p[50:, 12 * k:24 * k])
    lo, hi = depth_range(gt)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(gt[gt > 0],
                                                         (2, 98))))
    np.testing.assert_array_equal(p[50, 5], colorize_depth(
        np.full((1, 1), 3.0, np.float32), lo, hi)[0, 0])
    # one colour bar for both
    np.testing.assert_array_equal(g[:, 24 * k:], p[:, 24 * k:])
    # invalid gt row (depth 0) hatched; the prediction there is not
    greys = {tuple(c) for c in np.asarray(A.HATCH)}
    assert {tuple(c) for c in g[:k, :24 * k].reshape(-1, 3)} == greys
    assert not ({tuple(c) for c in p[:k, :24 * k].reshape(-1, 3)} & greys)


def test_picture_layout_input_then_rows(vis):
    image = np.random.RandomState(0).randint(0, 255, (16, 24, 3)).astype(
        np.uint8)
    drawn = vis.draw_multitask(image, _sample(), input_title='input rgb')
    rows = vis._task_rows(image, _sample(), True, True, False)
    # the input, enlarged 10x, under its title at the top left
    np.testing.assert_array_equal(
        drawn[A.TITLE_HEIGHT:A.TITLE_HEIGHT + 160, :240],
        np.repeat(np.repeat(image, 10, 0), 10, 1))
    assert _has_text(drawn[:A.TITLE_HEIGHT, :240])
    # columns: input | GT | prediction; one row per task
    w_gt = max(r[0].shape[1] for r in rows)
    np.testing.assert_array_equal(
        drawn[:rows[0][0].shape[0], 240 + 2:240 + 2 + rows[0][0].shape[1]],
        rows[0][0])
    np.testing.assert_array_equal(
        drawn[:rows[0][1].shape[0],
              240 + 2 + w_gt + 2:240 + 2 + w_gt + 2 + rows[0][1].shape[1]],
        rows[0][1])
    h0 = max(A.TITLE_HEIGHT + 160, rows[0][0].shape[0], rows[0][1].shape[0])
    assert drawn.shape[0] == h0 + 2 + max(p.shape[0] for p in rows[1])
    # no task: the titled input alone
    assert vis.draw_multitask(image, None).shape == (A.TITLE_HEIGHT + 160,
                                                     240, 3)


def test_only_present_fields_and_resizing(vis):
    image = np.zeros((32, 48, 3), np.uint8)
    rows = vis._task_rows(image, _sample(gt=False), True, True, False)
    assert [r[0] for r in rows] == [None, None]
    # 16x24 predictions are brought to the 32x48 input, then x5
    assert rows[0][1].shape[0] >= A.TITLE_HEIGHT + 160


def test_classification_sample_shows_true_and_predicted_class(vis):
    vis.dataset_meta = dict(classes=['blue', 'green', 'red', 'yellow'])
    image = np.full((32, 32, 3), 90, np.uint8)

    def draw(gt, pred):
        s = DataSample(metainfo=dict(task='Art')).set_gt_label(gt)
        s.set_pred_label(pred).set_pred_score(
            torch.tensor([0.1, 0.2, 0.6, 0.1]))
        return vis.draw_multitask(image, s)

    right, wrong = draw(2, 2), draw(1, 2)
    assert right.shape == (A.TITLE_HEIGHT + 160 + 4 + 2 * A.LINE, 160, 3)
    assert _has_text(right[:A.TITLE_HEIGHT])
    lines_r = right[A.TITLE_HEIGHT + 160:]
    lines_w = wrong[A.TITLE_HEIGHT + 160:]
    green = (lines_r[..., 1] > 100) & (lines_r[..., 0] < 80)
    red = (lines_w[..., 0] > 150) & (lines_w[..., 1] < 80)
    assert green.sum() > 10
    assert red.sum() > 10
    # the same prediction line, so the pictures differ only in GT / colour
    assert not np.array_equal(lines_r, lines_w)


def test_default_classes_are_nyuv2(vis):
    assert vis.dataset_meta['classes'] == list(NYUV2_CLASSES)
    vis.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))  # no palette
    vis.draw_multitask(np.zeros((16, 24, 3), np.uint8), _sample())
    vis.dataset_meta = dict(classes=('a', ), parts_classes=('head', 'arm'))
    assert vis._classes_palette('parts')[0] == ['head', 'arm']
    with_labels = vis.draw_multitask(np.zeros((16, 24, 3), np.uint8),
                                     _sample(), with_labels=True)
    assert with_labels.shape == vis.draw_multitask(
        np.zeros((16, 24, 3), np.uint8), _sample()).shape


def test_add_datasample_writes_file(vis, tmp_path):
    out = tmp_path / 'x.png'
    image = np.zeros((16, 24, 3), np.uint8)
    vis.add_datasample('x', image, _sample(), out_file=str(out))
    drawn = vis.draw_multitask(image, _sample())
    np.testing.assert_array_equal(cv2.imread(str(out))[..., ::-1], drawn)


def test_depth_input_is_drawn_on_the_gt_scale(vis):
    s = _sample()
    gt = s.gt_depth_map.data[0].numpy()
    depth_in = gt.copy()
    depth_in[5:8, 5:8] = 0  # a hole in the input
    drawn = vis.draw_multitask(np.zeros((16, 24, 3), np.uint8), s,
                               input_title='input depth',
                               input_depth=depth_in)
    _, (depth_gt, _) = vis._task_rows(np.zeros((16, 24, 3), np.uint8), s,
                                      True, True, False)
    rows, cols = A.map_box((16, 24))
    shown = drawn[rows, :depth_gt.shape[1]]
    # the same map and bar as the GT panel (same values, same scale) but
    # the hole, which is hatched
    same = np.ones((16, 24), bool)
    same[5:8, 5:8] = False
    big = np.repeat(np.repeat(same, 10, 0), 10, 1)
    np.testing.assert_array_equal(shown[:, :240][big],
                                  depth_gt[rows, :240][big])
    np.testing.assert_array_equal(shown[:, 240:], depth_gt[rows, 240:])
    greys = {tuple(c) for c in np.asarray(A.HATCH)}
    assert {tuple(c) for c in shown[:, :240][~big]} <= greys
