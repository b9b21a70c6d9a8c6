"""Writers of tiny NYUD-MT and PASCAL-Context MT folders in the real layouts.

Each builder writes the file formats the distributed benchmarks use (jpg,
png, npy, MATLAB v5 .mat) and returns the arrays it wrote, so tests compare
what the datasets load with what is on disk.
"""
import os
import os.path as osp

import cv2
import numpy as np
from scipy.io import savemat

H, W = 12, 16


def _write_img(path, arr, ext_params=()):
    os.makedirs(osp.dirname(path), exist_ok=True)
    if arr.ndim == 3:
        arr = arr[..., ::-1]  # RGB -> BGR for cv2
    assert cv2.imwrite(path, np.ascontiguousarray(arr), list(ext_params))


def _write_npy(path, arr):
    os.makedirs(osp.dirname(path), exist_ok=True)
    np.save(path, arr)


def _write_list(path, ids):
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(ids) + '\n')


def smooth_rgb(seed, h=H, w=W):
    """A smooth image (jpg keeps it within a few grey levels)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 8 + seed * 20, y * 10 + 40, np.full_like(x, 90)],
                    -1).clip(0, 255).astype(np.uint8)


def plane_normals(h=H, w=W):
    """Unit normals varying over the image, 0 vector in the top-left."""
    y, x = np.mgrid[0:h, 0:w]
    n = np.stack([np.sin(x / w), np.cos(y / h) - 1.2, -np.ones((h, w))], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    n[:2, :3] = 0
    return n.astype(np.float32)


def make_nyud_mt(root, png_version=False, ids=('0001', '0002', '0003')):
    """NYUD_MT: Multi-Task-Learning-PyTorch's release (jpg images, npy
    normals and edges), or InvPT's with ``png_version`` (png everything but
    depth). Train = first two ids, val = the last."""
    rng = np.random.default_rng(1)
    out = {}
    for k, sid in enumerate(ids):
        rgb = smooth_rgb(k)
        seg = rng.integers(0, 41, (H, W)).astype(np.uint8)
        depth = rng.uniform(0.5, 9.0, (H, W)).astype(np.float32)
        depth[0, :4] = 0
        normals = plane_normals()
        edge = (rng.random((H, W)) < 0.2).astype(np.float32)
        if png_version:
            _write_img(osp.join(root, 'images', sid + '.png'), rgb)
            enc = np.round((normals + 1) / 2 * 255).astype(np.uint8)
            enc[normals.any(-1) == 0] = 128  # 2 * 128 / 255 - 1 = 0.004
            _write_img(osp.join(root, 'normals', sid + '.png'), enc)
            _write_img(osp.join(root, 'edge', sid + '.png'),
                       (edge * 255).astype(np.uint8))
        else:
            _write_img(osp.join(root, 'images', sid + '.jpg'), rgb,
                       (cv2.IMWRITE_JPEG_QUALITY, 100))
            _write_npy(osp.join(root, 'normals', sid + '.npy'), normals)
            _write_npy(osp.join(root, 'edge', sid + '.npy'), edge)
        _write_img(osp.join(root, 'segmentation', sid + '.png'), seg)
        _write_npy(osp.join(root, 'depth', sid + '.npy'), depth)
        out[sid] = dict(rgb=rgb, semseg=seg, depth=depth, normals=normals,
                        edge=edge)
    _write_list(osp.join(root, 'gt_sets', 'train.txt'), ids[:-1])
    _write_list(osp.join(root, 'gt_sets', 'val.txt'), ids[-1:])
    return out


def _struct(fields, rows):
    """A 1 x N MATLAB struct array for ``savemat``."""
    arr = np.empty((1, len(rows)), dtype=[(f, 'O') for f in fields])
    for i, row in enumerate(rows):
        for f, v in zip(fields, row):
            arr[0, i][f] = v
    return arr


def write_parts_mat(path, objects):
    """A PASCAL-Part ``anno`` file; ``objects`` = [(class_ind, mask,
    [(part_name, mask), ...]), ...]."""
    rows = []
    for class_ind, mask, parts in objects:
        p = _struct(('part_name', 'mask'), parts) if parts else \
            np.zeros((0, 0))
        rows.append(('obj', np.array([[class_ind]]), mask.astype(np.uint8),
                     p))
    anno = _struct(('imname', 'objects'),
                   [('img', _struct(('class', 'class_ind', 'mask', 'parts'),
                                    rows))])
    os.makedirs(osp.dirname(path), exist_ok=True)
    savemat(path, dict(anno=anno))


def make_pascal_mt(root, ids=('2008_000001', '2008_000002', '2008_000003')):
    """PASCAL_MT: the first id has a person with parts (semseg in VOC12),
    the second none (semseg in pascal-context); train = first two ids."""
    rng = np.random.default_rng(2)
    out = {}
    for k, sid in enumerate(ids):
        rgb = smooth_rgb(k)
        _write_img(osp.join(root, 'JPEGImages', sid + '.jpg'), rgb,
                   (cv2.IMWRITE_JPEG_QUALITY, 100))
        seg = rng.integers(0, 21, (H, W)).astype(np.uint8)
        seg[0, 0] = 255
        folder = 'VOC12' if k == 0 else 'pascal-context'
        _write_img(osp.join(root, 'semseg', folder, sid + '.png'), seg)
        # LabelMap: left half wall (id 441 is valid for normals), right
        # half sky (id 360, not in NYUD: normals dropped)
        label_map = np.full((H, W), 441, np.uint16)
        label_map[:, W // 2:] = 360
        label_map[H // 2:, :3] = 15  # a third region (bike: not valid)
        os.makedirs(osp.join(root, 'pascal-context', 'trainval'),
                    exist_ok=True)
        savemat(osp.join(root, 'pascal-context', 'trainval', sid + '.mat'),
                dict(LabelMap=label_map))
        sal = rng.integers(0, 256, (H, W)).astype(np.uint8)
        _write_img(osp.join(root, 'sal_distill', sid + '.png'), sal)
        normals = plane_normals()
        normals[:2, :3] = [0, 0, -1]  # distilled normals exist everywhere
        enc = np.round((normals + 1) / 2 * 255).astype(np.uint8)
        _write_img(osp.join(root, 'normals_distill', sid + '.png'), enc)
        person = np.zeros((H, W), bool)
        person[2:10, 4:12] = True
        head = np.zeros((H, W), bool)
        head[2:4, 6:9] = True
        larm = np.zeros((H, W), bool)
        larm[5:8, 4:6] = True
        objects = [(8, person, [])]  # a cat without parts
        if k != 1:
            objects.append((15, person, [('hair', head), ('llarm', larm),
                                         ('torso', person & ~head & ~larm)]))
        write_parts_mat(osp.join(root, 'human_parts', sid + '.mat'),
                        objects)
        out[sid] = dict(rgb=rgb, semseg=seg, label_map=label_map, sal=sal,
                        normals=enc, head=head, larm=larm, person=person)
    _write_list(osp.join(root, 'ImageSets', 'Context', 'train.txt'),
                ids[:-1])
    _write_list(osp.join(root, 'ImageSets', 'Context', 'val.txt'), ids[-1:])
    return out
