"""A synthetic dataset in the NYUv2 folder layout, rendered by ray casting.

Each scene is a room seen by a pinhole camera: floor, ceiling, three walls,
boxes standing on the floor (beds, tables, cabinets, sofas, bookshelves,
cardboard boxes), a door, a window and pictures on the walls, plus a few
unlabelled clutter boxes. Everything is analytic, so the three modalities
agree exactly:

* depth is the camera-space z of the first hit (metres, stored as uint16 mm);
* labels are the NYUv2 40-class id of the hit object (1..40, 0 = unlabelled on
  one-pixel object boundaries and on clutter);
* rgb is a per-class colour and texture, evaluated in world coordinates (so
  floor planks foreshorten with distance), shaded by the surface normal and
  darkened with distance;
* normals are the exact normal of the hit face, in the camera frame (x
  right, y down, z forward, as OpenCV), facing the camera, stored as a
  16-bit RGB PNG ``round((n + 1) / 2 * 65535)``; invalid (the 0 vector,
  stored 32768) where depth is missing, as normals computed from real depth
  would be;
* edge (boundaries) marks, one pixel wide, where the class changes or the
  depth jumps (a different surface more than 3 % nearer or farther) between
  a pixel and its left or upper neighbour, stored as 255 on 0;
* sal (saliency) is the boxes standing on the floor (furniture and
  clutter), stored as 255 on 0.

Depth is missing (0, ``mask_valid`` 0) behind window glass and in a few random
holes, as in real structured-light data. Every sample is drawn from its own
random stream ``(seed, split, index)``, so the output does not depend on the
number of samples asked for or on the order they are written.
"""
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from .geometry import encode_normals
from .io_utils import (Progress, atomic_write_png, check_out_dir,
                       prepare_staging, publish, read_marker)
from .nyuv2_classes import nyuv2_class_id

SPLITS = ('train', 'test')
FOLDERS = ('rgb', 'depth', 'semseg', 'mask_valid', 'normals', 'edge', 'sal')
# 2: normals, edge and sal folders. A folder of an older version is
# regenerated (it holds nothing but generated files).
GENERATOR_VERSION = 2
EDGE_DEPTH_JUMP = 0.03  # relative depth change that makes a boundary
MAX_DEPTH = 10.0  # metres; farther hits are treated as missing depth

# class name -> (base RGB colour, texture name)
_LOOKS = {
    'wall': ((205, 195, 175), 'plaster'),
    'floor': ((150, 100, 60), 'planks'),
    'ceiling': ((238, 238, 232), 'plain'),
    'cabinet': ((175, 178, 185), 'panels'),
    'bed': ((70, 90, 165), 'stripes'),
    'table': ((105, 68, 42), 'grain'),
    'sofa': ((150, 45, 45), 'fabric'),
    'bookshelf': ((120, 85, 55), 'books'),
    'box': ((205, 150, 90), 'tape'),
    'door': ((160, 118, 75), 'door'),
    'window': ((175, 212, 240), 'frame'),
    'picture': ((60, 140, 90), 'checker'),
}
# furniture class -> (width, height, depth) ranges in metres
_FURNITURE = {
    'bed': ((1.4, 2.0), (0.45, 0.65), (1.8, 2.1)),
    'table': ((0.8, 1.6), (0.7, 0.8), (0.6, 1.0)),
    'cabinet': ((0.5, 1.0), (0.8, 2.0), (0.4, 0.6)),
    'sofa': ((1.5, 2.2), (0.7, 0.9), (0.8, 1.0)),
    'bookshelf': ((0.8, 1.2), (1.5, 2.0), (0.3, 0.4)),
    'box': ((0.3, 0.6), (0.3, 0.6), (0.3, 0.6)),
}
_LIGHT = np.array([0.3, 0.8, -0.5]) / np.linalg.norm([0.3, 0.8, -0.5])


def _rotation(yaw: float, pitch: float) -> np.ndarray:
    """Camera-to-world rotation: pitch about x, then yaw about y."""
    cp, sp, cy, sy = np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    return ry @ rx


class _Hits:
    """Nearest hit per ray: depth t, class id, instance id, normal, texture."""

    def __init__(self, n: int):
        self.t = np.full(n, np.inf)
        self.cls = np.zeros(n, np.int64)
        self.inst = np.zeros(n, np.int64)
        self.normal = np.zeros((n, 3))
        self.obj = np.full(n, -1, np.int64)  # index into the object list

    def update(self, t, cls, inst, normal, obj):
        closer = (t > 1e-6) & (t < self.t)
        self.t[closer] = t[closer]
        self.cls[closer] = cls
        self.inst[closer] = inst
        self.normal[closer] = normal if np.ndim(normal) == 1 else \
            normal[closer]
        self.obj[closer] = obj


def _ray_plane(dirs, axis, value):
    with np.errstate(divide='ignore', invalid='ignore'):
        t = value / dirs[:, axis]
    return np.where(np.isfinite(t), t, np.inf)


def _ray_box(dirs, lo, hi):
    """Slab test from the origin; returns t (inf on miss) and hit normals."""
    safe = np.where(np.abs(dirs) < 1e-9, 1e-9, dirs)
    t1, t2 = lo / safe, hi / safe  # N 3
    tmin, tmax = np.minimum(t1, t2), np.maximum(t1, t2)
    near, far = tmin.max(1), tmax.min(1)
    axis = tmin.argmax(1)
    hit = (near <= far) & (near > 1e-6)
    normal = np.zeros_like(dirs)
    rows = np.arange(len(dirs))
    normal[rows, axis] = -np.sign(safe[rows, axis])
    return np.where(hit, near, np.inf), normal


def _texture(name, p, base, rng_vals):
    """Per-class pattern in [0.5, 1.5] (or an RGB override) at world points."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    phase, freq = rng_vals
    rgb = np.tile(np.asarray(base, float), (len(p), 1))
    if name == 'planks':  # boards along z, seams every 0.18 m
        board = np.floor((x + phase) / 0.18)
        rgb *= (1 + 0.12 * np.sin(board * 12.9898) +
                0.06 * np.sin(z * 25 + board))[:, None]
        rgb[np.mod(x + phase, 0.18) < 0.012] *= 0.55
    elif name == 'stripes':
        white = np.mod((x + z) * 6 + phase, 2) < 0.7
        rgb[white] = (225, 225, 235)
    elif name == 'grain':
        grain = np.sin((x + z) * 40 * freq + np.sin(y * 9))
        rgb *= (1 + 0.15 * grain)[:, None]
    elif name == 'panels':
        edge = (np.mod(x + z + phase, 0.5) < 0.03) | (np.mod(y, 0.45) < 0.03)
        rgb[edge] *= 0.6
    elif name == 'fabric':
        rgb *= (1 + 0.1 * np.sin(x * 90) * np.sin(y * 90 + z * 90))[:, None]
    elif name == 'books':
        spine = np.floor((x + z + phase) / 0.05)
        hue = np.mod(spine * 0.618, 1.0)
        rgb = np.stack([120 + 110 * np.cos(2 * np.pi * hue),
                        120 + 110 * np.cos(2 * np.pi * (hue - 1 / 3)),
                        120 + 110 * np.cos(2 * np.pi * (hue - 2 / 3))], 1)
        rgb[np.mod(y, 0.4) < 0.03] = (110, 75, 50)  # the shelf boards
    elif name == 'tape':
        rgb[np.abs(np.mod(x + z + phase, 0.4) - 0.2) < 0.03] = (225, 200, 150)
    elif name == 'door':
        rgb[np.mod(y, 0.55) < 0.03] *= 0.7
    elif name == 'frame':
        rgb[(np.mod(x + z, 0.5) < 0.04) | (np.mod(y, 0.5) < 0.04)] = 245
    elif name == 'checker':
        cell = (np.floor((x + z) * 8) + np.floor(y * 8)) % 2 == 0
        rgb[cell] = (230, 190, 40)
    elif name == 'plaster':
        rgb *= (1 + 0.04 * np.sin(x * 7 + y * 5 + z * 3 + phase))[:, None]
    return rgb


def _disk(mask, cy, cx, r):
    h, w = mask.shape
    yy, xx = np.ogrid[:h, :w]
    mask[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = True


def render_scene(rng: np.random.Generator,
                 size: Tuple[int, int]) -> Dict[str, np.ndarray]:
    """Render one random room.

    Args:
        rng (np.random.Generator): The sample's random stream.
        size (tuple): (H, W) of the output.

    Returns:
        dict: ``rgb`` (H, W, 3) uint8, ``depth`` (H, W) uint16 millimetres
        (0 where missing), ``semseg`` (H, W) uint8 (0 unlabelled, 1..40),
        ``mask_valid`` (H, W) uint8 (255 valid, 0 missing), ``normals``
        (H, W, 3) uint16 (RGB = x, y, z encoded as (n + 1) / 2 * 65535),
        ``edge`` and ``sal`` (H, W) uint8 (255 on 0).

    Shapes:
        size (H, W) -> rgb/normals (H, W, 3), others (H, W)
    """
    h, w = size
    f = 0.82 * w * rng.uniform(0.9, 1.1)  # NYUv2: fx ~ 519 px at 640 px
    vs, us = np.mgrid[0:h, 0:w] + 0.5
    dirs_cam = np.stack([(us - w / 2) / f, -(vs - h / 2) / f,
                         np.ones_like(us)], -1).reshape(-1, 3)  # N 3, z = 1
    # Positive pitch looks down, as a handheld Kinect mostly did.
    rot = _rotation(rng.uniform(-0.3, 0.3), rng.uniform(-0.05, 0.3))
    dirs = dirs_cam @ rot.T  # world directions; ray parameter = camera z

    cam_h = rng.uniform(1.1, 1.6)
    room_h = rng.uniform(2.4, 3.0)
    back = rng.uniform(3.5, 7.0)
    left, right = -rng.uniform(1.6, 3.2), rng.uniform(1.6, 3.2)
    floor_y, ceil_y = -cam_h, room_h - cam_h

    hits = _Hits(len(dirs))
    objects = []  # (look name, texture params, base colour)

    def add(name, jitter=12.0):
        base = np.clip(np.asarray(_LOOKS[name][0], float) +
                       rng.uniform(-jitter, jitter, 3), 0, 255)
        objects.append((_LOOKS[name][1], (rng.uniform(0, 1),
                                          rng.uniform(0.7, 1.3)), base))
        return len(objects) - 1

    wall_look = add('wall', 20)
    planes = [  # axis, value, class, normal
        (1, floor_y, 'floor', (0, 1, 0)),
        (1, ceil_y, 'ceiling', (0, -1, 0)),
        (2, back, 'wall', (0, 0, -1)),
        (0, left, 'wall', (1, 0, 0)),
        (0, right, 'wall', (-1, 0, 0)),
    ]
    for inst, (axis, value, name, normal) in enumerate(planes, start=1):
        obj = wall_look if name == 'wall' else add(name)
        hits.update(_ray_plane(dirs, axis, value), nyuv2_class_id(name), inst,
                    np.asarray(normal, float), obj)
    inst = len(planes)

    # Flat things on the walls: keep the wall depth, change class and look.
    p = hits.t[:, None] * dirs
    on_back = (hits.inst == 3) & np.isfinite(hits.t)
    glass = np.zeros(len(dirs), bool)
    for name in rng.permutation(['window', 'picture', 'picture', 'door']):
        if rng.random() < 0.35:
            continue
        pw = rng.uniform(0.5, 1.0) if name != 'door' else 0.9
        ph = rng.uniform(0.4, 0.9) if name != 'door' else 2.0
        cx = rng.uniform(left + pw, right - pw)
        y0 = floor_y if name == 'door' else rng.uniform(0.8, 1.4) + floor_y
        sel = on_back & (np.abs(p[:, 0] - cx) < pw / 2) & \
            (p[:, 1] > y0) & (p[:, 1] < y0 + ph)
        inst += 1
        hits.cls[sel] = nyuv2_class_id(name)
        hits.inst[sel] = inst
        hits.obj[sel] = add(name, 25)
        if name == 'window':
            glass |= sel

    # Furniture on the floor; the perspective makes far boxes small.
    first_box = inst + 1  # boxes (furniture, clutter) are the salient ones
    for _ in range(rng.integers(2, 6)):
        name = rng.choice(list(_FURNITURE))
        (w0, w1), (h0, h1), (d0, d1) = _FURNITURE[name]
        bw, bh = rng.uniform(w0, w1), rng.uniform(h0, h1)
        bd = rng.uniform(d0, d1)
        x0 = rng.uniform(left, right - bw)
        z0 = rng.uniform(1.2, back - bd)
        lo = np.array([x0, floor_y, z0])
        t, normal = _ray_box(dirs, lo, lo + [bw, bh, bd])
        inst += 1
        hits.update(t, nyuv2_class_id(name), inst, normal, add(name))

    # Clutter: objects of no NYUv2 class in random colours -> unlabelled.
    for _ in range(rng.integers(0, 3)):
        s = rng.uniform(0.15, 0.4, 3)
        lo = np.array([rng.uniform(left, right - s[0]), floor_y,
                       rng.uniform(1.0, back - s[2])])
        t, normal = _ray_box(dirs, lo, lo + s)
        inst += 1
        objects.append(('plain', (0, 1), rng.uniform(30, 230, 3)))
        hits.update(t, 0, inst, normal, len(objects) - 1)

    # Colour: class texture x (ambient + Lambert) x distance falloff.
    depth = hits.t
    p = depth[:, None] * dirs
    rgb = np.zeros((len(dirs), 3))
    for idx, (tex, vals, base) in enumerate(objects):
        sel = hits.obj == idx
        if sel.any():
            rgb[sel] = _texture(tex, p[sel], base, vals)
    lambert = np.clip(hits.normal @ _LIGHT, 0, 1)
    shade = (0.55 + 0.45 * lambert) * np.exp(-0.12 * depth)
    rgb = rgb * shade[:, None] + rng.normal(0, 2.5, rgb.shape)
    rgb = np.clip(rgb, 0, 255).reshape(h, w, 3).astype(np.uint8)

    # Labels: one-pixel unlabelled seams between instances, as in NYUv2.
    inst_map = hits.inst.reshape(h, w)
    seam = np.zeros((h, w), bool)
    seam[:, 1:] |= inst_map[:, 1:] != inst_map[:, :-1]
    seam[1:, :] |= inst_map[1:, :] != inst_map[:-1, :]
    semseg = hits.cls.reshape(h, w).astype(np.uint8)
    semseg[seam] = 0

    # Missing depth: glass, out of range and a few random holes.
    invalid = (glass | ~np.isfinite(depth) | (depth > MAX_DEPTH)).reshape(h, w)
    for _ in range(rng.integers(0, 4)):
        _disk(invalid, rng.integers(0, h), rng.integers(0, w),
              rng.uniform(1, max(2.0, min(h, w) / 16)))
    depth_mm = np.round(np.where(np.isfinite(depth), depth, 0) * 1000)
    depth_mm = depth_mm.reshape(h, w).clip(0, 65535).astype(np.uint16)
    depth_mm[invalid] = 0
    mask_valid = np.where(invalid, 0, 255).astype(np.uint8)

    # Normals: world -> camera (x right, y up) -> OpenCV (y down).
    n_cam = hits.normal @ rot  # (R^T n)^T = n^T R
    n_cam[:, 1] *= -1
    n_cam = n_cam.reshape(h, w, 3)
    n_cam[invalid] = 0
    normals = encode_normals(n_cam)

    cls_map = hits.cls.reshape(h, w)
    t_map = np.where(np.isfinite(depth), depth, MAX_DEPTH * 10).reshape(h, w)
    edge = np.zeros((h, w), bool)
    for a, b in (((slice(None), slice(1, None)), (slice(None), slice(None,
                                                                      -1))),
                 ((slice(1, None), slice(None)), (slice(None, -1),
                                                  slice(None)))):
        jump = np.abs(t_map[a] - t_map[b]) > \
            EDGE_DEPTH_JUMP * np.minimum(t_map[a], t_map[b])
        edge[a] |= (cls_map[a] != cls_map[b]) | \
            ((inst_map[a] != inst_map[b]) & jump)
    sal = inst_map >= first_box
    # focal: not a folder; lets tests recompute normals from the depth.
    return dict(rgb=rgb, depth=depth_mm, semseg=semseg, mask_valid=mask_valid,
                normals=normals, focal=f, edge=np.where(edge, 255, 0).astype(np.uint8),
                sal=np.where(sal, 255, 0).astype(np.uint8))


def sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream of one sample, independent of all other samples."""
    return np.random.default_rng([seed, SPLITS.index(split), index])


def _is_older_version(out_dir: str, params: dict) -> bool:
    """Whether ``out_dir`` is this generator's output of an older version
    with otherwise the same parameters (safe to regenerate: every file in
    it was generated)."""
    marker = read_marker(out_dir) if osp.isdir(out_dir) else None
    if not marker or marker.get('tool') != 'generate_synthetic_nyuv2':
        return False
    old = dict(marker.get('params') or {})
    version = old.pop('version', 0)
    new = {k: v for k, v in params.items() if k != 'version'}
    return isinstance(version, int) and version < params['version'] and \
        old == json.loads(json.dumps(new))


def generate_synthetic_nyuv2(out_dir: str,
                             num_train: int = 200,
                             num_test: int = 50,
                             size: Sequence[int] = (96, 128),
                             seed: int = 0,
                             overwrite: bool = False,
                             progress: bool = False) -> Optional[dict]:
    """Write a synthetic dataset in the NYUv2 layout, atomically.

    The layout is ``out_dir/{train,test}/{rgb,depth,semseg,mask_valid,
    normals,edge,sal}/<name>.png`` with ``<name>`` = ``000000``, ``000001``, ... The folder is
    built as ``<out_dir>.incomplete`` and renamed when done; a ``.complete``
    manifest inside records the parameters. Calling again with the same
    parameters is a no-op; a folder this generator wrote with the same
    parameters but an older ``GENERATOR_VERSION`` is regenerated.

    Args:
        out_dir (str): Output folder, e.g. ``data/nyuv2_synth``.
        num_train (int): Training samples. Defaults to 200.
        num_test (int): Test samples. Defaults to 50.
        size (Sequence[int]): (H, W). Defaults to (96, 128), the NYUv2 aspect
            ratio at a size a tiny model trains on in CPU minutes.
        seed (int): Seed of every sample's random stream. Defaults to 0.
        overwrite (bool): Replace an ``out_dir`` written with other
            parameters (or by something else). Defaults to False.
        progress (bool): Show a progress bar. Defaults to False.

    Returns:
        dict | None: The manifest written, or None if ``out_dir`` was
        already complete.
    """
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 16:
        raise ValueError(f'size must be (H, W) with both >= 16, got {size}')
    if num_train < 1 or num_test < 1:
        raise ValueError(f'num_train ({num_train}) and num_test ({num_test}) '
                         'must be >= 1')
    params = dict(version=GENERATOR_VERSION, num_train=int(num_train),
                  num_test=int(num_test), size=list(size), seed=int(seed))
    overwrite = overwrite or _is_older_version(out_dir, params)
    if check_out_dir(out_dir, params, overwrite, 'generate_synthetic_nyuv2'):
        return None
    staging = prepare_staging(out_dir, params)
    counts = dict(train=int(num_train), test=int(num_test))
    bar = Progress(num_train + num_test, 'synthetic NYUv2') \
        if progress else None
    for split, num in counts.items():
        for folder in FOLDERS:
            os.makedirs(osp.join(staging, split, folder), exist_ok=True)
        for index in range(num):
            scene = render_scene(sample_rng(seed, split, index), size)
            for folder in FOLDERS:
                atomic_write_png(
                    osp.join(staging, split, folder, f'{index:06d}.png'),
                    scene[folder])
            if bar is not None:
                bar.update()
    manifest = dict(tool='generate_synthetic_nyuv2', params=params,
                    counts=counts, layout='{split}/{modality}/{name}.png')
    publish(staging, out_dir, manifest, overwrite=overwrite)
    return manifest
