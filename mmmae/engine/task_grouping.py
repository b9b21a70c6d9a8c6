"""Split tasks into disjoint groups from a task-affinity matrix (MmAP).

``affinity[i][j]`` says how much task i's update agrees with, or helps,
task j (``tools/analysis_tools/task_affinity.py`` measures either the
cosine similarity of their gradients on a shared prompt, symmetric, or
TAG's look-ahead affinity Z_{i->j}, not symmetric; see
:mod:`mmmae.engine.task_affinity`). A partition is scored by::

    score(G) = sum_i mean_{j in G(i), j != i} affinity[i][j]

with 0 for a task alone. Within a group every ordered pair counts once with
weight 1 / (|group| - 1), so this is also the sum over tasks j of the mean
affinity ONTO j from its group mates: TAG's network-selection criterion
(Fifty et al., 2021) restricted to disjoint groups. The mean (not the sum)
keeps a large group from winning just by size: one dissimilar member
lowers every member's mean. Tasks with negative affinity to all others
therefore end up alone.

Search: every partition (restricted-growth strings, at most ``num_groups``
blocks or exactly that many when given) for up to ``max_exhaustive``
tasks (Bell(10) = 115975 partitions); above that, greedy agglomeration
(start from singletons, merge the pair of groups with the largest gain
while it is not negative).
Deterministic: partitions are visited in a fixed order, scores are
rounded to 1e-9 and only a strictly better score replaces the incumbent,
so ties go to the partition met first (fewer groups, earlier tasks
together).
"""
from collections import OrderedDict
from typing import Iterator, List, Optional, Sequence

import numpy as np

_ROUND = 9


def _check(affinity, tasks: Sequence[str]) -> np.ndarray:
    a = np.asarray(affinity, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f'affinity must be a square matrix, got shape '
                         f'{a.shape}')
    if a.shape[0] != len(tasks):
        raise ValueError(f'affinity is {a.shape[0]}x{a.shape[1]} but there '
                         f'are {len(tasks)} tasks {list(tasks)}')
    if len(set(tasks)) != len(tasks):
        raise ValueError(f'duplicate task names in {list(tasks)}')
    if not np.isfinite(a).all():
        raise ValueError('affinity has NaN or inf entries (a task with no '
                         'samples in the warm-up?)')
    return a


def partition_score(affinity, blocks: Sequence[Sequence[int]]) -> float:
    """Sum over tasks of the mean affinity received from group mates."""
    a = np.asarray(affinity, dtype=np.float64)
    total = 0.
    for block in blocks:
        if len(block) < 2:
            continue
        for i in block:
            total += sum(a[i, j] for j in block if j != i) / (len(block) - 1)
    return round(total, _ROUND)


def _partitions(n: int, max_blocks: int) -> Iterator[List[int]]:
    """Restricted-growth strings: labels[i] <= max(labels[:i]) + 1."""
    labels = [0] * n

    def rec(i: int, used: int):
        if i == n:
            yield list(labels)
            return
        for b in range(min(used + 1, max_blocks)):
            labels[i] = b
            yield from rec(i + 1, max(used, b + 1))

    yield from rec(0, 0)


def _blocks(labels: Sequence[int]) -> List[List[int]]:
    out: 'OrderedDict[int, List[int]]' = OrderedDict()
    for i, b in enumerate(labels):
        out.setdefault(b, []).append(i)
    return list(out.values())


def _greedy(a: np.ndarray, num_groups: Optional[int]) -> List[List[int]]:
    blocks = [[i] for i in range(a.shape[0])]
    while len(blocks) > 1:
        base = partition_score(a, blocks)
        best = None
        for x in range(len(blocks)):
            for y in range(x + 1, len(blocks)):
                merged = blocks[:x] + [sorted(blocks[x] + blocks[y])] + \
                    blocks[x + 1:y] + blocks[y + 1:]
                gain = partition_score(a, merged) - base
                if best is None or gain > best[0]:
                    best = (gain, merged)
        must = num_groups is not None and len(blocks) > num_groups
        # A zero gain still merges: ties go to fewer groups, as in the
        # exhaustive search.
        if best is None or (best[0] < 0 and not must):
            break
        blocks = best[1]
    return blocks


def group_tasks(affinity,
                tasks: Sequence[str],
                num_groups: Optional[int] = None,
                max_exhaustive: int = 10) -> 'OrderedDict[str, List[str]]':
    """Best partition of ``tasks`` under :func:`partition_score`.

    Args:
        affinity (array-like): (T, T) affinity, row i = task i (the task
            whose update is measured against column j); need not be
            symmetric.
        tasks (Sequence[str]): Task names in matrix order.
        num_groups (int, optional): Exactly this many groups; None lets the
            score choose.
        max_exhaustive (int): Largest T searched exhaustively.

    Returns:
        OrderedDict: ``'group0'``, ``'group1'``, ... -> task names, groups
        ordered by their first task.
    """
    a = _check(affinity, tasks)
    T = len(tasks)
    if num_groups is not None and not 1 <= num_groups <= T:
        raise ValueError(f'num_groups={num_groups} must be in 1..{T}')
    if T <= max_exhaustive:
        best_score, best = None, None
        for labels in _partitions(T, num_groups or T):
            if num_groups is not None and max(labels) + 1 != num_groups:
                continue
            blocks = _blocks(labels)
            score = partition_score(a, blocks)
            if best_score is None or score > best_score:
                best_score, best = score, blocks
    else:
        best = _greedy(a, num_groups)
    best = sorted((sorted(b) for b in best), key=lambda b: b[0])
    return OrderedDict((f'group{k}', [tasks[i] for i in b])
                       for k, b in enumerate(best))
