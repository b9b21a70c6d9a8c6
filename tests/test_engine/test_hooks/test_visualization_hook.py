from types import SimpleNamespace

import cv2
import numpy as np
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.engine.hooks import MultiTaskVisualizationHook
from mmmae.engine.hooks.visualization_hook import (read_display_image,
                                                   unique_stems)
from mmmae.visualization import MultiTaskLocalVisualizer
from mmmae.visualization import annotate as A


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
    # titled input (16 px enlarged 10x), then a row per task
    drawn = cv2.imread(str(show_dir / '2.png'))[..., ::-1]
    np.testing.assert_array_equal(
        drawn[A.TITLE_HEIGHT:A.TITLE_HEIGHT + 160, :160], 100)
    assert (drawn[:A.TITLE_HEIGHT, :160] < 100).all(-1).sum() > 20


def test_unique_stems_add_parent_folders_only_where_needed():
    assert unique_stems(['d/test/rgb/0001.png', 'd/test/rgb/0002.png']) == {
        'd/test/rgb/0001.png': '0001', 'd/test/rgb/0002.png': '0002'}
    paths = [f'root/{d}/{c}/{k:04d}.png' for d in ('Art', 'Clipart')
             for c in ('red', 'blue') for k in range(3)]
    names = unique_stems(paths)
    assert len(set(names.values())) == len(paths) == 12
    assert names['root/Art/red/0001.png'] == 'Art_red_0001'


def _toy_images(root):
    """Two domains x two classes of 0.png, 1.png: 8 images, 2 stems."""
    paths = []
    for d in ('Art', 'Clipart'):
        for c in ('red', 'blue'):
            (root / d / c).mkdir(parents=True)
            for k in range(2):
                path = root / d / c / f'{k}.png'
                cv2.imwrite(str(path), np.full((8, 8, 3), 40 * k, np.uint8))
                paths.append(str(path))
    return paths


def _cls_sample(path, gt, pred):
    from mmpretrain.structures import DataSample
    s = DataSample(metainfo=dict(img_path=path, task=path.split('/')[-3]))
    s.set_gt_label(gt).set_pred_label(pred)
    return s.set_pred_score(torch.tensor([0.3, 0.7]))


def test_same_stems_in_several_folders_give_one_file_each(tmp_path):
    """The 128 -> 16 files bug: stems repeat across domain/class folders."""
    vis = MultiTaskLocalVisualizer.get_instance(f'vis_{tmp_path.name}')
    vis.dataset_meta = dict(classes=['blue', 'red'])
    paths = _toy_images(tmp_path / 'data')
    class Data(list):
        def get_data_info(self, i):
            return dict(img_path=self[i])

    runner = SimpleNamespace(iter=0, test_dataloader=SimpleNamespace(
        dataset=Data(paths)))
    show_dir = tmp_path / 'show'
    hook = MultiTaskVisualizationHook(draw=True, show_dir=str(show_dir))
    hook.before_test(runner)
    samples = [_cls_sample(p, 1 if '/red/' in p else 0, 1) for p in paths]
    hook.after_test_iter(runner, 0, {}, samples[:5])
    hook.after_test_iter(runner, 1, {}, samples[5:])
    written = sorted(p.name for p in show_dir.iterdir())
    assert len(written) == len(paths) == 8
    assert 'Art_red_0.png' in written and 'Clipart_blue_1.png' in written
    # a run listing one image twice still writes a second file
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, [samples[0], samples[0]])
    assert len(list(show_dir.iterdir())) == 9
    # without the dataset's list the names still never collide
    hook = MultiTaskVisualizationHook(draw=True,
                                      show_dir=str(tmp_path / 'bare'))
    hook.before_test(SimpleNamespace(iter=0))
    hook.after_test_iter(runner, 0, {}, samples)
    assert len(list((tmp_path / 'bare').iterdir())) == 8


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


def test_input_title_names_what_is_shown_and_the_other_inputs(tmp_path):
    MultiTaskLocalVisualizer.get_instance(f'vis_{tmp_path.name}')
    cv2.imwrite(str(tmp_path / 'd.png'), np.full((8, 8), 1500, np.uint16))
    cv2.imwrite(str(tmp_path / 'c.png'), np.zeros((8, 8, 3), np.uint8))
    hook = MultiTaskVisualizationHook(draw=True)
    s = _sample(tmp_path / 'd.png')
    s.set_metainfo(dict(modalities=('depth', )))
    _, title, depth = hook._image(s)
    assert title == 'input depth'
    np.testing.assert_allclose(depth, 1.5)
    s = _sample(tmp_path / 'c.png')
    s.set_metainfo(dict(modalities=('rgb', 'depth')))
    assert hook._image(s)[1] == 'input rgb (+depth)'
