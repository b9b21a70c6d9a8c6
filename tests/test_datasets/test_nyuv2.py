import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch

from mmmae.datasets import NYUV2_CLASSES, NYUv2MultiTaskDataset
from mmmae.registry import DATASETS

PIPELINE = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='PackMultiModalInputs'),
]


def test_build_and_load(synth_root):
    ds = DATASETS.build(dict(type='NYUv2MultiTaskDataset',
                             data_root=synth_root, split='train',
                             modalities=('rgb', 'depth'), pipeline=PIPELINE))
    assert len(ds) == 4
    assert ds.metainfo['classes'] == NYUV2_CLASSES
    assert len(ds.metainfo['palette']) == 40
    info = ds.get_data_info(0)
    for key in ('rgb_path', 'depth_path', 'semseg_path', 'mask_valid_path'):
        assert osp.isfile(info[key])
    out = ds[1]
    assert set(out['inputs']) == {'rgb', 'depth'}
    assert out['inputs']['rgb'].shape == (3, 32, 48)
    sample = out['data_samples']
    assert sample.gt_sem_seg.data.shape == (1, 32, 48)
    assert sample.gt_depth_map.data.shape == (1, 32, 48)
    labels = set(np.unique(sample.gt_sem_seg.data.numpy()).tolist())
    assert labels <= set(range(40)) | {255} and 255 in labels
    assert sample.img_path == info['rgb_path'].replace('000000', '000001')


def test_depth_input_only_and_one_target(synth_root):
    ds = NYUv2MultiTaskDataset(synth_root, split='test', modalities=('depth',),
                               targets=('semseg',), pipeline=PIPELINE)
    info = ds.get_data_info(0)
    assert 'rgb_path' not in info and info['img_path'].endswith(
        osp.join('rgb', '000000.png'))
    out = ds[0]
    assert set(out['inputs']) == {'depth'}
    assert 'gt_depth_map' not in out['data_samples']
    assert 'gt_sem_seg' in out['data_samples']


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope'):
        NYUv2MultiTaskDataset(str(tmp_path / 'nope'))


def test_empty_split(tmp_path):
    for name in ('rgb', 'depth', 'semseg', 'mask_valid'):
        os.makedirs(tmp_path / 'test' / name)
    with pytest.raises(ValueError, match='split "test" is empty'):
        NYUv2MultiTaskDataset(str(tmp_path), split='test')


def test_missing_modality_file(synth_root, tmp_path):
    root = str(tmp_path / 'copy')
    shutil.copytree(synth_root, root)
    victim = osp.join(root, 'train', 'depth', '000002.png')
    os.remove(victim)
    with pytest.raises(FileNotFoundError, match=victim):
        NYUv2MultiTaskDataset(root, split='train')
    # without depth in inputs or targets the sample is fine
    ds = NYUv2MultiTaskDataset(root, split='train', targets=('semseg',))
    assert len(ds) == 4


def test_missing_mask_folder(synth_root, tmp_path):
    root = str(tmp_path / 'copy')
    shutil.copytree(synth_root, root)
    shutil.rmtree(osp.join(root, 'train', 'mask_valid'))
    with pytest.raises(FileNotFoundError, match='use_mask_valid=False'):
        NYUv2MultiTaskDataset(root, split='train')
    ds = NYUv2MultiTaskDataset(root, split='train', use_mask_valid=False)
    assert 'mask_valid_path' not in ds.get_data_info(0)


def test_bad_arguments(synth_root):
    with pytest.raises(ValueError, match='semseg'):
        NYUv2MultiTaskDataset(synth_root, modalities=('semseg',))
    with pytest.raises(ValueError, match='split'):
        NYUv2MultiTaskDataset(synth_root, split='val')
    with pytest.raises(ValueError, match='at least one'):
        NYUv2MultiTaskDataset(synth_root, modalities=())


def test_bad_label_and_corrupt_image_name_the_file(synth_root, tmp_path,
                                                   png_writer):
    import cv2
    root = str(tmp_path / 'copy')
    shutil.copytree(synth_root, root)
    sem = osp.join(root, 'train', 'semseg', '000001.png')
    labels = cv2.imread(sem, cv2.IMREAD_UNCHANGED)
    labels[3, 3] = 77
    png_writer(sem, labels)
    rgb = osp.join(root, 'train', 'rgb', '000002.png')
    with open(rgb, 'wb') as f:
        f.write(b'not a png')
    ds = NYUv2MultiTaskDataset(root, split='train', pipeline=PIPELINE)
    ds[0]
    with pytest.raises(ValueError, match=f'{sem}: label 77'):
        ds[1]
    with pytest.raises(ValueError, match=f'cannot decode {rgb}'):
        ds[2]


def test_four_tasks_from_the_synthetic_set(synth_root):
    pipeline = [dict(type='LoadMultiModalFromFile'),
                dict(type='MultiModalRandomFlip', prob=1.0),
                dict(type='PackMultiModalInputs')]
    ds = NYUv2MultiTaskDataset(
        synth_root, split='train',
        targets=('semseg', 'depth', 'normals', 'edge'), pipeline=pipeline)
    assert ds.metainfo['tasks'] == ('semseg', 'depth', 'normals', 'edge')
    s = ds[0]['data_samples']
    assert s.metainfo['tasks'] == ds.metainfo['tasks']
    n = s.gt_normals.data
    valid = n.abs().sum(0) > 0
    assert n.shape == (3, 32, 48) and valid.float().mean() > 0.5
    torch.testing.assert_close(n.norm(dim=0)[valid],
                               torch.ones(int(valid.sum())))
    assert set(s.gt_edge.data.unique().tolist()) <= {0, 1}
    # flipped: the rightmost normals column is the leftmost of the file,
    # with x negated
    raw = cv2.imread(osp.join(synth_root, 'train', 'normals', '000000.png'),
                     cv2.IMREAD_UNCHANGED)[..., ::-1].astype(np.float64)
    raw = 2 * raw / 65535 - 1
    col = torch.from_numpy(raw[:, 0].T.copy()).float()
    col[0] *= -1
    ok = valid[:, -1]
    torch.testing.assert_close(n[:, ok, -1], col[:, ok], atol=1e-4,
                               rtol=0)


def test_task_without_folder_names_it(synth_root, tmp_path):
    import shutil
    root = str(tmp_path / 'old')
    shutil.copytree(synth_root, root)
    shutil.rmtree(osp.join(root, 'train', 'normals'))
    with pytest.raises(FileNotFoundError, match='normals folder.*--overwrite'):
        NYUv2MultiTaskDataset(root, targets=('normals', ))
