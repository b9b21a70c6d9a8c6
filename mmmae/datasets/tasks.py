"""The dense tasks a dataset can provide, and their ground-truth fields.

One table names, for every task, the key the loading transform fills in the
pipeline's ``results``, the field of the packed ``SegDataSample`` and the map
kind (which decides interpolation, padding and flipping, ``_fields.py``):

======== ================ ============== ======= ===========================
task     results key      sample field   kind    values of ``.data``
======== ================ ============== ======= ===========================
semseg   gt_seg_map       gt_sem_seg     label   (1, H, W) int64, 255 ignore
depth    gt_depth_map     gt_depth_map   depth   (1, H, W) float m, 0 invalid
normals  gt_normals       gt_normals     normals (3, H, W) float, unit or 0
edge     gt_edge          gt_edge        edge    (1, H, W) int64 {0, 1}, 255
sal      gt_sal           gt_sal         binary  (1, H, W) int64 {0, 1}, 255
parts    gt_parts         gt_parts       label   (1, H, W) int64, 255 ignore
======== ================ ============== ======= ===========================

Every dataset of this package lists the tasks it loads in
``dataset.metainfo['tasks']`` and every packed sample in
``data_sample.metainfo['tasks']``; :func:`check_tasks` is the check a model
runs against the heads of its config.
"""
from typing import Dict, Iterable, NamedTuple, Tuple


class TaskField(NamedTuple):
    key: str  # key in the pipeline's results
    field: str  # field of the packed SegDataSample
    kind: str  # map kind, see _fields.py


TASK_FIELDS: Dict[str, TaskField] = dict(
    semseg=TaskField('gt_seg_map', 'gt_sem_seg', 'label'),
    depth=TaskField('gt_depth_map', 'gt_depth_map', 'depth'),
    normals=TaskField('gt_normals', 'gt_normals', 'normals'),
    edge=TaskField('gt_edge', 'gt_edge', 'edge'),
    sal=TaskField('gt_sal', 'gt_sal', 'binary'),
    parts=TaskField('gt_parts', 'gt_parts', 'label'),
)


def check_tasks(available: Iterable[str], required: Iterable[str],
                source: str = 'the dataset') -> Tuple[str, ...]:
    """Raise if a required task is not among the available ones.

    Args:
        available (Iterable[str]): Tasks provided, e.g.
            ``dataset.metainfo['tasks']``.
        required (Iterable[str]): Tasks asked for, e.g. the keys of a
            segmentor's heads.
        source (str): What provides them, for the message (a dataset class
            and root, a config key).

    Returns:
        tuple[str]: ``required`` as a tuple.

    Raises:
        KeyError: naming the missing tasks, what is available and the
            source.
    """
    available, required = tuple(available), tuple(required)
    unknown = [t for t in required if t not in TASK_FIELDS]
    missing = [t for t in required if t not in available]
    if unknown:
        raise KeyError(f'unknown task(s) {unknown}: the tasks are '
                       f'{sorted(TASK_FIELDS)}')
    if missing:
        raise KeyError(f'task(s) {missing} are not provided by {source}, '
                       f'which has {list(available)}; add them to the '
                       'dataset\'s targets or remove those heads')
    return required
