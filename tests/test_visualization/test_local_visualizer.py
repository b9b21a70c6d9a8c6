import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.datasets.nyuv2_classes import NYUV2_CLASSES
from mmmae.visualization import (MultiTaskLocalVisualizer, colorize_depth,
                                 depth_range)


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


def test_side_by_side_panels(vis):
    image = np.full((16, 24, 3), 128, np.uint8)
    drawn = vis.draw_multitask(image, _sample())
    # input | gt labels | pred labels | gt depth | pred depth
    assert drawn.shape == (16, 5 * 24 + 4 * 2, 3)
    panels = [drawn[:, i * 26:i * 26 + 24] for i in range(5)]
    assert np.array_equal(panels[0], image)
    # Labels are overlaid: the two halves differ, and gt mirrors the pred.
    assert not np.array_equal(panels[1][:, :12], panels[1][:, 12:])
    assert np.array_equal(panels[1][:, ::-1], panels[2])
    # Depth panels share the gt range: the doubled pred is darker (farther).
    assert panels[4][1:].astype(int).sum() < panels[3][1:].astype(int).sum()
    assert (panels[3][0] == 0).all()  # invalid gt row is black


def test_only_present_fields_and_resizing(vis):
    image = np.zeros((32, 48, 3), np.uint8)
    drawn = vis.draw_multitask(image, _sample(gt=False), draw_gt=True)
    assert drawn.shape == (32, 3 * 48 + 2 * 2, 3)  # panels resized to image
    assert vis.draw_multitask(image, None).shape == image.shape


def test_default_classes_are_nyuv2(vis):
    assert vis.dataset_meta['classes'] == list(NYUV2_CLASSES)
    vis.dataset_meta = dict(classes=('a', 'b', 'c', 'd'))  # no palette
    vis.draw_multitask(np.zeros((16, 24, 3), np.uint8), _sample())


def test_add_datasample_writes_file(vis, tmp_path):
    out = tmp_path / 'x.png'
    vis.add_datasample('x', np.zeros((16, 24, 3), np.uint8), _sample(),
                       out_file=str(out))
    import cv2
    assert cv2.imread(str(out)).shape == (16, 5 * 24 + 8, 3)
