"""Human-part labels from PASCAL-Part annotation files (``human_parts/*.mat``).

Maninis et al. (ASTMT, CVPR 2019) and the loaders that followed
(Multi-Task-Learning-PyTorch and InvPT, ``data/pascal_context.py``) read the
PASCAL-Part ``.mat`` of each image: ``anno`` holds ``(imname, objects)``;
each object is ``(class, class_ind, mask, parts)`` and each part
``(part_name, mask)``. Every person (``class_ind`` 15) that has parts paints
its parts, in file order, with the 6-part grouping below (0 = background).
An image with no annotated person part is all ignore (255), as the
reference ``AddIgnoreRegions`` makes an all-zero map.
"""
from typing import Tuple

import numpy as np

from .transforms.decoders import load_mat

PERSON_CLASS = 15
HUMAN_PARTS_CLASSES: Tuple[str, ...] = (
    'background', 'head', 'torso', 'upper arm', 'lower arm', 'upper leg',
    'lower leg')
# PASCAL-Part part name -> one of the 6 groups (the literature's default
# ``num_human_parts=6``).
_HEAD = ('hair', 'head', 'lear', 'lebrow', 'leye', 'mouth', 'nose', 'rear',
         'rebrow', 'reye')
PART_GROUPS = dict(
    **{name: 1 for name in _HEAD},
    neck=2, torso=2, luarm=3, ruarm=3, lhand=4, llarm=4, rhand=4, rlarm=4,
    luleg=5, ruleg=5, lfoot=6, llleg=6, rfoot=6, rlleg=6)


def _text(value) -> str:
    return str(np.asarray(value).ravel()[0])


def read_human_parts(path: str, shape: Tuple[int, int],
                     ignore_index: int = 255) -> np.ndarray:
    """The 7-class human-parts map of one PASCAL-Part annotation file.

    Args:
        path (str): ``human_parts/<id>.mat``.
        shape (tuple): (H, W) of the image, for an image without persons.
        ignore_index (int): Value of an image without part labels.

    Returns:
        np.ndarray: (H, W) uint8, 0 background, 1..6 parts, or all
        ``ignore_index``.
    """
    mat = load_mat(path)
    try:
        objects = mat['anno'][0][0][1][0]
    except (KeyError, IndexError, ValueError) as err:
        raise ValueError(f'{path} is not a PASCAL-Part annotation (expected '
                         f'anno = (imname, objects)): {err!r}') from None
    target = None
    for i, obj in enumerate(objects):
        try:
            class_ind = int(np.asarray(obj[1]).ravel()[0])
            parts = obj[3]
        except (IndexError, ValueError, TypeError) as err:
            raise ValueError(f'{path}: object {i} is not (class, class_ind, '
                             f'mask, parts): {err!r}') from None
        if class_ind != PERSON_CLASS or len(parts) == 0:
            continue
        if target is None:
            target = np.zeros(np.asarray(obj[2]).shape, np.uint8)
        for part in parts[0]:
            name = _text(part[0])
            if name not in PART_GROUPS:
                raise KeyError(f'{path}: unknown person part "{name}" '
                               f'(known: {sorted(PART_GROUPS)})')
            mask = np.asarray(part[1]).astype(bool)
            if mask.shape != target.shape:
                raise ValueError(f'{path}: part "{name}" mask {mask.shape} '
                                 f'differs from the object mask '
                                 f'{target.shape}')
            target[mask] = PART_GROUPS[name]
    if target is None or not target.any():
        return np.full(tuple(shape), ignore_index, np.uint8)
    return target
