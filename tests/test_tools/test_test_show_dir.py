"""tools/test.py --show-dir on the tiny MmAP config and the toy multi-domain
folder: one titled picture per test image (regression: the 128 test images
once gave 16 files, their stems 0000..0015.png repeating across the
domain and class folders)."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint

from mmmae.datasets.multi_domain import make_toy_multidomain
from mmmae.registry import MODELS
from mmmae.utils import register_all_modules
from mmmae.visualization import annotate as A

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'configs', 'mmap',
                'mmap-mt_clip-tiny_l2d2_1xb16-300i_toy-multidomain-32.py')


@pytest.fixture(scope='module')
def shown(tmp_path_factory, load_tool):
    tmp = tmp_path_factory.mktemp('show_dir')
    data = str(tmp / 'toy')
    make_toy_multidomain(data, images_per_class=16, size=32)
    register_all_modules()
    cfg = Config.fromfile(TINY)
    torch.manual_seed(0)
    ckpt = str(tmp / 'random.pth')
    save_checkpoint(dict(state_dict=MODELS.build(cfg.model).state_dict(),
                         meta=dict()), ckpt)
    show = str(tmp / 'show')
    # mmengine keeps one visualizer per name for the whole process: a name
    # of its own keeps an earlier test's plain Visualizer from answering.
    load_tool('tools/test.py', 'mmmae_test_tool').main([
        TINY, ckpt, '--work-dir', str(tmp / 'work'), '--show-dir', show,
        '--cfg-options', 'visualizer.name=mmmae_test_show_dir'] +
        [f'{k}_dataloader.dataset.data_root={data}'
         for k in ('train', 'val', 'test')])
    cfg.test_dataloader.dataset.data_root = data
    from mmmae.registry import DATASETS
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    paths = [dataset.get_data_info(i)['img_path']
             for i in range(len(dataset))]
    return dict(show=show, paths=paths)


def test_one_file_per_test_image(shown):
    files = sorted(os.listdir(shown['show']))
    paths = shown['paths']
    assert len(paths) == 128
    # the stems alone repeat: naming by them gave 16 files
    assert len({osp.basename(p) for p in paths}) < len(paths)
    assert len(files) == len(paths)
    expected = sorted('_'.join(p.split(os.sep)[-3:]) for p in paths)
    assert files == expected  # <domain>_<class>_<stem>.png


def test_pictures_carry_title_and_classes(shown):
    img = cv2.imread(osp.join(shown['show'], sorted(
        os.listdir(shown['show']))[0]))[..., ::-1]
    # 32 px toy image enlarged 5x under the title, two text lines below
    assert img.shape == (A.TITLE_HEIGHT + 160 + 4 + 2 * A.LINE, 160, 3)
    title = img[:A.TITLE_HEIGHT]
    lines = img[A.TITLE_HEIGHT + 160:]
    assert (title < 100).all(-1).sum() > 20
    # "GT: <class>" in black, "pred: <class> (score)" green or red
    dark = (lines[:A.LINE + 4] < 100).all(-1).sum()
    coloured = np.abs(lines[A.LINE:].astype(int) -
                      lines[A.LINE:].mean(-1, keepdims=True)).max(-1) > 60
    assert dark > 20 and coloured.sum() > 10
