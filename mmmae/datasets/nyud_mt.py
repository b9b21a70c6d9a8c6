"""NYUD-MT, the NYUv2 multi-task benchmark in the literature's layout."""
from mmmae.registry import DATASETS
from .multi_task_list import MultiTaskListDataset
from .nyuv2_classes import NYUV2_CLASSES, NYUV2_PALETTE


@DATASETS.register_module()
class NYUDMTDataset(MultiTaskListDataset):
    """NYUD-MT (795 train / 654 val): semseg, depth, normals, boundaries.

    Reads the ``NYUD_MT`` folder that Multi-Task-Learning-PyTorch, ATRC and
    InvPT distribute::

        data_root/gt_sets/{train,val}.txt   one id per line
        data_root/images/<id>.jpg | .png    RGB
        data_root/segmentation/<id>.png     0 unlabelled, 1..40
        data_root/depth/<id>.npy            float metres, 0 invalid
        data_root/normals/<id>.npy | .png   [-1, 1] (H, W, 3) | (n+1)/2*255
        data_root/edge/<id>.npy | .png      {0, 1} | {0, 255}

    (the ``.npy`` normals and edges and ``.jpg`` images are
    Multi-Task-Learning-PyTorch's release, the ``.png`` ones InvPT's). The
    reference conventions (``data/nyud.py`` of both): semseg ``k -> k - 1``
    and 0 -> 255 (ignored; 40-way classification), normals decoded as
    ``2 * v / 255 - 1`` from PNG, edges ``v / 255`` from PNG, depth as
    stored. The 0 vector marks invalid normals and depth 0 invalid depth
    (the reference's ``AddIgnoreRegions``).

    Args:
        data_root (str): e.g. ``data/NYUD_MT``.
        split (str): 'train' or 'val'. Default 'train'.
        tasks (Sequence[str], optional): Subset of ('semseg', 'depth',
            'normals', 'edge'). None: all four.
        **kwargs: see :class:`MultiTaskListDataset`.

    Shapes:
        after ``LoadMultiModalFromFile`` and ``PackMultiModalInputs``:
        inputs['rgb'] (3, H, W); gt_sem_seg, gt_depth_map, gt_edge
        (1, H, W); gt_normals (3, H, W)
    """

    METAINFO = dict(classes=NYUV2_CLASSES, palette=NYUV2_PALETTE)
    NAME = 'NYUD-MT'
    TASKS = ('semseg', 'depth', 'normals', 'edge')
    SPLIT_FILE = 'gt_sets/{split}.txt'
    IMAGE = (('images', '.jpg'), ('images', '.png'))
    TASK_FILES = dict(
        semseg=(('segmentation', '.png'), ),
        depth=(('depth', '.npy'), ),
        normals=(('normals', '.npy'), ('normals', '.png')),
        edge=(('edge', '.npy'), ('edge', '.png')),
    )

    def sample_info(self, sid: str) -> dict:
        info = super().sample_info(sid)
        info.update(reduce_zero_label=True, num_classes=len(NYUV2_CLASSES))
        return info
