from types import SimpleNamespace

import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.engine.hooks import MultiTaskVisualizationHook
from mmmae.engine.hooks.visualization_hook import read_display_image
from mmmae.visualization import MultiTaskLocalVisualizer


def _sample(path):
    s = SegDataSample(metainfo=dict(img_path=str(path)))
    s.pred_depth_map = PixelData(data=torch.rand(1, 16, 16) + 1)
    s.pred_sem_seg = PixelData(data=torch.randint(0, 40, (1, 16, 16)))
    return s


def test_test_iter_writes_one_picture_per_sample(tmp_path):
    MultiTaskLocalVisualizer.get_instance(f'vis_{tmp_path.name}')
    for i in range(3):
        cv2.imwrite(str(tmp_path / f'{i}.png'),
                    np.full((16, 16, 3), 50 * i, np.uint8))
    show_dir = tmp_path / 'show'
    hook = MultiTaskVisualizationHook(draw=True, show_dir=str(show_dir))
    runner = SimpleNamespace(iter=0)
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, [_sample(tmp_path / f'{i}.png')
                                         for i in range(2)])
    hook.after_test_iter(runner, 1, {}, [_sample(tmp_path / '2.png')])
    written = sorted(p.name for p in show_dir.iterdir())
    assert written == ['0.png', '1.png', '2.png']
    # input | pred labels | pred depth
    assert cv2.imread(str(show_dir / '2.png')).shape == (16, 3 * 16 + 4, 3)


def test_draw_false_writes_nothing(tmp_path):
    MultiTaskLocalVisualizer.get_instance(f'vis_{tmp_path.name}')
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((16, 16, 3), np.uint8))
    hook = MultiTaskVisualizationHook(draw=False,
                                      show_dir=str(tmp_path / 'show'))
    hook.after_test_iter(SimpleNamespace(iter=0), 0, {},
                         [_sample(tmp_path / 'a.png')])
    assert not (tmp_path / 'show').exists()


def test_depth_input_file_is_drawn_as_colour_map(tmp_path):
    depth = (np.arange(64, dtype=np.uint16).reshape(8, 8) + 1) * 100
    cv2.imwrite(str(tmp_path / 'd.png'), depth)
    img = read_display_image(str(tmp_path / 'd.png'))
    assert img.shape == (8, 8, 3) and img.dtype == np.uint8
    assert img.std() > 0
