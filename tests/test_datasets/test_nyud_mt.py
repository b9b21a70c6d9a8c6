"""NYUD-MT in the literature's layout (both releases' file formats)."""
import os
import os.path as osp

import numpy as np
import pytest

from mmmae.datasets import NYUDMTDataset

PIPELINE = [dict(type='LoadMultiModalFromFile'),
            dict(type='PackMultiModalInputs')]


def test_loads_every_task_with_reference_conventions(nyud_mt):
    root, arrays = nyud_mt
    ds = NYUDMTDataset(root, split='train', pipeline=PIPELINE)
    assert len(ds) == 2 and ds.metainfo['tasks'] == (
        'semseg', 'depth', 'normals', 'edge')
    assert len(ds.metainfo['classes']) == 40
    out = ds[0]
    a = arrays['0001']
    sample = out['data_samples']
    assert sample.metainfo['tasks'] == ('semseg', 'depth', 'normals', 'edge')
    rgb = out['inputs']['rgb'].permute(1, 2, 0).numpy().astype(int)
    assert np.abs(rgb - a["rgb"]).max() <= 6  # jpg at quality 100
    seg = sample.gt_sem_seg.data[0].numpy()
    # as the reference: 0 (unlabelled) -> 255, k -> k - 1
    assert np.array_equal(seg, np.where(a['semseg'] == 0, 255,
                                        a['semseg'].astype(int) - 1))
    np.testing.assert_allclose(sample.gt_depth_map.data[0].numpy(),
                               a['depth'], rtol=0, atol=0)
    normals = sample.gt_normals.data.permute(1, 2, 0).numpy()
    assert normals.shape == a['normals'].shape
    valid = a['normals'].any(-1)
    assert not normals[~valid].any()  # invalid stays the 0 vector
    np.testing.assert_allclose(np.linalg.norm(normals[valid], axis=-1), 1,
                               atol=1e-5)
    # png: 8-bit quantisation; npy: exact
    np.testing.assert_allclose(normals[valid], a['normals'][valid],
                               atol=0.01)
    assert np.array_equal(sample.gt_edge.data[0].numpy(), a['edge'])
    assert sample.gt_edge.data.dtype.is_floating_point is False


def test_task_subset_and_val_split(nyud_mt):
    root, _ = nyud_mt
    ds = NYUDMTDataset(root, split='val', tasks=('normals', ),
                       pipeline=PIPELINE)
    assert len(ds) == 1 and ds.metainfo['tasks'] == ('normals', )
    sample = ds[0]['data_samples']
    assert 'gt_normals' in sample and 'gt_sem_seg' not in sample
    with pytest.raises(ValueError, match="'boundary'"):
        NYUDMTDataset(root, tasks=('boundary', ))


def test_missing_ground_truth_names_the_file(nyud_mt):
    root, _ = nyud_mt
    os.remove(osp.join(root, 'depth', '0002.npy'))
    with pytest.raises(FileNotFoundError, match=r'depth.*"0002".*0002\.npy'):
        NYUDMTDataset(root, split='train')
    assert len(NYUDMTDataset(root, split='train', tasks=('semseg', ))) == 2
    with pytest.raises(FileNotFoundError, match='split file'):
        NYUDMTDataset(root, split='test')


def test_bad_normals_and_edges_name_the_file(nyud_mt):
    root, _ = nyud_mt
    ds = NYUDMTDataset(root, split='val', pipeline=PIPELINE)
    normals = [f for f in os.listdir(osp.join(root, 'normals'))
               if f.startswith('0003')][0]
    path = osp.join(root, 'normals', normals)
    if path.endswith('.npy'):
        n = np.load(path)
        n[5, 5] *= 0.5  # length 0.5: neither unit nor invalid
        np.save(path, n)
    else:
        import cv2
        img = cv2.imread(path)
        img[5, 5] = (200, 200, 200)  # (0.57, 0.57, 0.57): length 0.99 ok
        img[6, 6] = (255, 255, 255)  # length 1.73
        cv2.imwrite(path, img)
    with pytest.raises(ValueError, match=f'{path}.*not unit length'):
        ds[0]
    edge = [f for f in os.listdir(osp.join(root, 'edge'))
            if f.startswith('0001')][0]
    path = osp.join(root, 'edge', edge)
    if path.endswith('.npy'):
        e = np.load(path)
        e[0, 0] = 0.5
        np.save(path, e)
    else:
        import cv2
        e = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        e[0, 0] = 128
        cv2.imwrite(path, e)
    ds = NYUDMTDataset(root, split='train', pipeline=PIPELINE)
    with pytest.raises(ValueError, match=f'{path}: edge map is not binary'):
        ds[0]
