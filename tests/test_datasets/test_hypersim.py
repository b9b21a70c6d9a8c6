"""HypersimDataset on tiny files in the MultiMAE reference's layout
(<split>/<task>/<scene>/<name>.png)."""
import os.path as osp

import cv2
import numpy as np
import pytest

from mmmae.datasets import NYUV2_CLASSES
from mmmae.registry import DATASETS

PIPELINE = [dict(type='LoadMultiModalFromFile'),
            dict(type='PackMultiModalInputs')]


@pytest.fixture
def root(tmp_path):
    rng = np.random.default_rng(0)
    for scene, names in (('ai_001_001', ('frame.0000', 'frame.0001')),
                         ('ai_002_003', ('frame.0000', ))):
        for name in names:
            for task in ('rgb', 'depth', 'semseg'):
                d = tmp_path / 'val' / task / scene
                d.mkdir(parents=True, exist_ok=True)
                if task == 'rgb':
                    img = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
                elif task == 'depth':
                    img = rng.integers(1, 5000, (24, 32), dtype=np.uint16)
                else:
                    img = rng.integers(0, 41, (24, 32), dtype=np.uint8)
                    img[0, :4] = (0, 1, 40, 7)
                cv2.imwrite(str(d / f'{name}.png'), img)
    return str(tmp_path)


def test_reference_layout_loads_with_zero_label_ignored(root):
    ds = DATASETS.build(dict(type='HypersimDataset', data_root=root,
                             split='val', modalities=('rgb', 'depth'),
                             pipeline=PIPELINE))
    assert len(ds) == 3
    assert ds.metainfo['classes'] == NYUV2_CLASSES
    info = ds.get_data_info(2)
    assert info['img_path'] == osp.join(root, 'val', 'rgb', 'ai_002_003',
                                        'frame.0000.png')
    assert info['semseg_path'].endswith('semseg/ai_002_003/frame.0000.png')
    out = ds[0]
    assert set(out['inputs']) == {'rgb', 'depth'}
    assert out['inputs']['rgb'].shape == (3, 24, 32)
    gt = out['data_samples'].gt_sem_seg.data
    assert gt.shape == (1, 24, 32)
    assert gt[0, 0, :4].tolist() == [255, 0, 39, 6]
    raw = cv2.imread(ds.get_data_info(0)['semseg_path'], -1)
    expect = np.where(raw == 0, 255, raw.astype(np.int64) - 1)
    assert (gt[0].numpy() == expect).all()


def test_bad_input_is_named(root, tmp_path):
    with pytest.raises(ValueError, match='split must be one of'):
        DATASETS.build(dict(type='HypersimDataset', data_root=root,
                            split='valid', pipeline=PIPELINE))
    with pytest.raises(ValueError, match=r"targets \['depth'\]"):
        DATASETS.build(dict(type='HypersimDataset', data_root=root,
                            split='val', targets=('depth', 'semseg'),
                            pipeline=PIPELINE))
    with pytest.raises(FileNotFoundError, match='Hypersim data root'):
        DATASETS.build(dict(type='HypersimDataset',
                            data_root=str(tmp_path / 'none'),
                            pipeline=PIPELINE))
    with pytest.raises(FileNotFoundError, match='val/depth'):
        DATASETS.build(dict(type='HypersimDataset', data_root=root,
                            split='val', data_prefix=dict(
                                rgb='val/rgb', semseg='val/semseg',
                                depth='val/depth_missing'),
                            modalities=('rgb', 'depth'), pipeline=PIPELINE))
