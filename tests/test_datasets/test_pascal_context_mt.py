"""PASCAL-Context MT in the layout of Maninis et al."""
import os
import os.path as osp

import numpy as np
import pytest
from mt_layouts import H, W, write_parts_mat

from mmmae.datasets import (HUMAN_PARTS_CLASSES, PASCAL_MT_CLASSES,
                            PascalContextMTDataset)
from mmmae.datasets.edges import label_boundaries
from mmmae.datasets.pascal_context_mt import NORMALS_VALID_LABELS

PIPELINE = [dict(type='LoadMultiModalFromFile'),
            dict(type='PackMultiModalInputs')]


def test_loads_five_tasks_with_reference_conventions(pascal_mt):
    root, arrays = pascal_mt
    ds = PascalContextMTDataset(root, split='train', pipeline=PIPELINE)
    assert len(ds) == 2
    assert ds.metainfo['tasks'] == ('semseg', 'parts', 'sal', 'normals',
                                    'edge')
    assert len(PASCAL_MT_CLASSES) == 21 and len(HUMAN_PARTS_CLASSES) == 7
    assert ds.metainfo['classes'] == PASCAL_MT_CLASSES
    assert len(NORMALS_VALID_LABELS) == 170
    sid = '2008_000001'
    a = arrays[sid]
    s = ds[0]['data_samples']
    assert s.metainfo['tasks'] == ds.metainfo['tasks']
    # semseg as stored (21 classes, 255 ignore), from semseg/VOC12
    assert np.array_equal(s.gt_sem_seg.data[0].numpy(), a['semseg'])
    assert ds.get_data_info(0)['semseg_path'].endswith(
        osp.join('VOC12', sid + '.png'))
    assert ds.get_data_info(1)['semseg_path'].endswith(
        osp.join('pascal-context', '2008_000002.png'))
    # human parts: hair -> head (1), llarm -> lower arm (4), torso (2)
    parts = s.gt_parts.data[0].numpy()
    want = np.zeros((H, W), np.int64)
    want[a['person']] = 2
    want[a['head']] = 1
    want[a['larm']] = 4
    assert np.array_equal(parts, want)
    # saliency: v / 255 > 0.5
    assert np.array_equal(s.gt_sal.data[0].numpy(),
                          (a['sal'] / 255. > 0.5).astype(np.int64))
    # normals: 2 v / 255 - 1, renormalised, only on NYUD classes (441)
    n = s.gt_normals.data.permute(1, 2, 0).numpy()
    keep = np.isin(a['label_map'], NORMALS_VALID_LABELS)
    assert keep.any() and (~keep).any()
    assert not n[~keep].any()
    np.testing.assert_allclose(np.linalg.norm(n[keep], axis=-1), 1,
                               atol=1e-5)
    decoded = 2 * a['normals'].astype(np.float64) / 255 - 1
    np.testing.assert_allclose(n[keep], decoded[keep], atol=0.01)
    # edges: thin(|Laplacian(LabelMap)| > 0)
    edge = s.gt_edge.data[0].numpy()
    assert np.array_equal(edge, label_boundaries(a['label_map']))
    assert edge.sum() > 0 and set(np.unique(edge)) <= {0, 1}


def test_image_without_person_parts_is_ignored(pascal_mt):
    root, _ = pascal_mt
    ds = PascalContextMTDataset(root, split='train', tasks=('parts', ),
                                pipeline=PIPELINE)
    assert (ds[1]['data_samples'].gt_parts.data == 255).all()


def test_errors_name_the_file(pascal_mt, tmp_path):
    root, _ = pascal_mt
    os.remove(osp.join(root, 'sal_distill', '2008_000002.png'))
    with pytest.raises(FileNotFoundError, match='sal.*2008_000002'):
        PascalContextMTDataset(root, split='train')
    ds = PascalContextMTDataset(root, split='val', tasks=('parts', ),
                                pipeline=PIPELINE)
    mask = np.ones((H, W), bool)
    path = osp.join(root, 'human_parts', '2008_000003.mat')
    write_parts_mat(path, [(15, mask, [('tail', mask)])])
    with pytest.raises(KeyError, match='unknown person part "tail"'):
        ds[0]
    with pytest.raises(FileNotFoundError, match='data root'):
        PascalContextMTDataset(str(tmp_path / 'nope'))
