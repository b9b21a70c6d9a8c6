import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from mmmae.datasets import MultiModalFolderDataset
from mmmae.registry import MODELS


def _make(write_png, root, names, skip=None):
    rng = np.random.default_rng(0)
    for rel in names:
        write_png(osp.join(root, 'rgb', rel + '.jpg'),
                  rng.integers(0, 255, (40, 56, 3), dtype=np.uint8))
        if skip != ('depth', rel):
            write_png(osp.join(root, 'depth', rel + '.png'),
                      rng.integers(1, 9000, (40, 56)).astype(np.uint16))
        write_png(osp.join(root, 'semseg', rel + '.png'),
                  rng.integers(0, 133, (40, 56)).astype(np.uint8))


PIPELINE = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='MultiModalRandomResizedCrop', size=32, scale=(0.2, 1.0)),
    dict(type='MultiModalRandomFlip', prob=0.5),
    dict(type='PackMultiModalInputs'),
]


def test_pretrain_batch(tmp_path, png_writer):
    root = str(tmp_path)
    _make(png_writer, root, ['n01/a', 'n01/b', 'n02/c'])
    ds = MultiModalFolderDataset(root, num_classes=133, pipeline=PIPELINE)
    assert len(ds) == 3
    assert ds.get_data_info(2)['depth_path'].endswith('n02/c.png')
    batch = pseudo_collate([ds[i] for i in range(3)])
    assert 'gt_sem_seg' not in batch['data_samples'][0]
    pre = MODELS.build(dict(type='MultiMAEDataPreprocessor'))
    out = pre(batch, training=True)['inputs']
    assert out['rgb'].shape == (3, 3, 32, 32)
    assert out['depth'].shape == (3, 1, 32, 32)
    assert out['semseg'].shape == (3, 8, 8)
    assert out['semseg'].dtype == torch.long
    assert int(out['semseg'].max()) < 133


def test_missing_match_names_the_file(tmp_path, png_writer):
    root = str(tmp_path)
    _make(png_writer, root, ['x', 'y'], skip=('depth', 'y'))
    with pytest.raises(FileNotFoundError, match=r'y\.jpg has no matching '
                       r'depth file'):
        MultiModalFolderDataset(root)


def test_missing_root_and_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent'):
        MultiModalFolderDataset(str(tmp_path / 'absent'))
    os.makedirs(tmp_path / 'rgb')
    with pytest.raises(FileNotFoundError, match='depth folder'):
        MultiModalFolderDataset(str(tmp_path))


def test_label_range_checked(tmp_path, png_writer):
    root = str(tmp_path)
    _make(png_writer, root, ['a'])
    ds = MultiModalFolderDataset(root, num_classes=100, pipeline=PIPELINE)
    with pytest.raises(ValueError, match=r'a\.png: label 1\d\d'):
        ds[0]
