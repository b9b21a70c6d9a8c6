"""Carve a validation split out of a training list, per class, seeded.

Model selection (``save_best``, early stopping, hyper-parameter search) must
never read the test split. Datasets that ship only train and test lists
(Office-Home, MiniDomainNet) therefore hold out a share of each class's
training images of each domain as ``val``; ``train`` is what remains.
"""
import random
from collections import defaultdict
from typing import List, Sequence, Tuple

Item = Tuple[str, str]  # (path, class name)


def num_held_out(n: int, ratio: float) -> int:
    """``round(ratio * n)`` images of a class of n go to val: at least 1 and
    at most n - 1 when n >= 2 and ratio > 0 (so both sides see every
    class), none for a class of one image or ratio 0."""
    if ratio <= 0. or n < 2:
        return 0
    return min(max(round(ratio * n), 1), n - 1)


def carve_val(items: Sequence[Item], ratio: float,
              seed: str) -> Tuple[List[Item], List[Item]]:
    """Split ``items`` into (train, val), class by class.

    Each class's paths are sorted, shuffled with ``random.Random(
    f'{seed}/{class}')`` (a string seed is hashed with SHA-512, so the
    result depends neither on PYTHONHASHSEED nor on listing order) and the
    first :func:`num_held_out` form val.

    Args:
        items (Sequence[tuple]): (path, class name) of the training pool.
        ratio (float): Share held out per class, in [0, 1).
        seed (str): Seed prefix; callers include the split seed and domain.

    Returns:
        tuple: train items in their input order, val items sorted per class.
    """
    if not 0. <= ratio < 1.:
        raise ValueError(f'val_ratio={ratio} must be in [0, 1)')
    by_class = defaultdict(list)
    for path, cls in items:
        by_class[cls].append(path)
    held_out = set()
    val = []
    for cls in sorted(by_class):
        paths = sorted(by_class[cls])
        random.Random(f'{seed}/{cls}').shuffle(paths)
        chosen = sorted(paths[:num_held_out(len(paths), ratio)])
        held_out.update(chosen)
        val += [(p, cls) for p in chosen]
    train = [item for item in items if item[0] not in held_out]
    return train, val
