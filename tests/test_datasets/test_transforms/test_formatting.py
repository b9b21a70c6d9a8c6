import numpy as np
import torch

from mmmae.registry import TRANSFORMS


def test_pack():
    results = dict(
        rgb=np.zeros((6, 8, 3), np.uint8),
        depth=np.ones((6, 8), np.float32),
        semseg=np.full((6, 8), 3, np.uint8),
        gt_seg_map=np.full((6, 8), 255, np.uint8),
        gt_depth_map=np.full((6, 8), 2., np.float32),
        modalities=('rgb', 'depth', 'semseg'), img_path='a.png',
        img_shape=(6, 8), ori_shape=(12, 16), scale_factor=(0.5, 0.5))
    out = TRANSFORMS.build(dict(type='PackMultiModalInputs'))(results)
    inputs, sample = out['inputs'], out['data_samples']
    assert inputs['rgb'].shape == (3, 6, 8) and inputs['rgb'].dtype == \
        torch.uint8
    assert inputs['depth'].shape == (1, 6, 8) and inputs['depth'].dtype == \
        torch.float32
    assert inputs['semseg'].dtype == torch.int64
    assert sample.gt_sem_seg.data.shape == (1, 6, 8)
    assert sample.gt_sem_seg.data.dtype == torch.int64
    assert float(sample.gt_depth_map.data.mean()) == 2.
    meta = sample.metainfo
    assert meta['img_path'] == 'a.png' and meta['ori_shape'] == (12, 16)
    assert meta['pad_shape'] == (6, 8) and meta['flip'] is False
    assert meta['modalities'] == ('rgb', 'depth', 'semseg')


def test_pack_every_task_and_list_them():
    import pytest
    h, w = 4, 5
    n = np.zeros((h, w, 3), np.float32)
    n[..., 2] = -1
    results = dict(
        rgb=np.zeros((h, w, 3), np.uint8), modalities=('rgb', ),
        targets=('normals', 'edge', 'sal', 'parts'), img_path='x.jpg',
        gt_normals=n, gt_edge=np.ones((h, w), np.uint8),
        gt_sal=np.zeros((h, w), np.uint8),
        gt_parts=np.full((h, w), 6, np.uint8))
    pack = TRANSFORMS.build(dict(type='PackMultiModalInputs'))
    sample = pack(dict(results))['data_samples']
    assert sample.metainfo['tasks'] == ('normals', 'edge', 'sal', 'parts')
    assert sample.gt_normals.data.shape == (3, h, w)
    assert sample.gt_normals.data.dtype == torch.float32
    assert float(sample.gt_normals.data[2].mean()) == -1
    for field in ('gt_edge', 'gt_sal', 'gt_parts'):
        assert sample.get(field).data.shape == (1, h, w)
        assert sample.get(field).data.dtype == torch.int64
    del results['gt_sal']
    with pytest.raises(KeyError, match='task "sal" .*x.jpg'):
        pack(results)


def _plain_tensor(arr, dtype):
    """PackMultiModalInputs' conversion written plainly: the reference."""
    chw = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(chw)).to(dtype)


def test_pack_tensor_equals_plain_conversion():
    from mmmae.datasets.transforms.formatting import PackMultiModalInputs
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    labels = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    depth = rng.random((20, 30), dtype=np.float32)
    normals = rng.random((20, 30, 3), dtype=np.float32)
    views = [
        (rgb, torch.uint8), (rgb[3:17, 5:25], torch.uint8),
        (rgb[:, ::-1], torch.uint8), (rgb[::-1], torch.uint8),
        (rgb[..., ::-1], torch.uint8), (rgb[3:17, 5:25], torch.int64),
        (labels[2:9, 4:20], torch.int64), (labels[:, ::-1], torch.int64),
        (labels.astype(np.uint16)[1:], torch.int64),
        (labels.astype(np.int64)[1:, 2:], torch.int64),
        (depth[5:, :7], torch.float32), (depth, torch.float32),
        (normals[2:8, 3:9], torch.float32),
        (normals.astype(np.int64)[2:8], torch.int64),
        (depth[4:], torch.int64),  # a lossy cast: torch's own
        (rgb[..., :1][2:], torch.uint8), (rgb[..., :2], torch.float32),
    ]
    for arr, dtype in views:
        got = PackMultiModalInputs._tensor(arr, dtype)
        expected = _plain_tensor(arr, dtype)
        assert got.dtype == expected.dtype and got.is_contiguous()
        assert torch.equal(got, expected), (arr.shape, arr.dtype, dtype)
    # A contiguous map of the right dtype is shared, as before.
    assert np.shares_memory(
        PackMultiModalInputs._tensor(depth, torch.float32).numpy(), depth)
