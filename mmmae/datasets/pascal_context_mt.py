"""PASCAL-Context MT (Maninis et al., CVPR 2019) in the distributed layout."""
from typing import List, Tuple

from mmmae.registry import DATASETS
from .multi_task_list import MultiTaskListDataset
from .nyuv2_classes import _bit_palette
from .pascal_parts import HUMAN_PARTS_CLASSES

PASCAL_MT_CLASSES: Tuple[str, ...] = (
    'background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus',
    'car', 'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike',
    'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')
PASCAL_MT_PALETTE: List[List[int]] = [[0, 0, 0]] + _bit_palette(20)

# PASCAL-Context (459-class LabelMap) ids on which the distilled normals are
# kept: the classes NYUD also has, plus tvmonitor, as the reference
# ``normals_valid_classes``. Derived (170 ids) from data/db_info/
# {nyu_classes,context_classes}.json of prismformore/Multi-Task-Transformer
# (InvPT), commit 870c6be100b95d44ffa0a9591775dd3faa2d5664.
NORMALS_VALID_LABELS: Tuple[int, ...] = (
    3, 4, 6, 9, 10, 11, 13, 15, 17, 18, 22, 23, 29, 30, 33, 34, 36, 37, 38,
    39, 41, 43, 46, 49, 50, 51, 53, 55, 56, 59, 61, 62, 65, 66, 68, 69, 72,
    73, 78, 83, 84, 85, 87, 88, 95, 96, 101, 104, 105, 107, 111, 113, 115,
    122, 124, 135, 141, 142, 143, 146, 150, 154, 157, 158, 159, 165, 172,
    174, 181, 183, 184, 191, 193, 195, 197, 199, 202, 213, 215, 216, 219,
    220, 223, 225, 228, 230, 232, 233, 238, 239, 242, 243, 246, 250, 251,
    252, 255, 260, 261, 263, 269, 272, 273, 275, 281, 283, 284, 285, 286,
    287, 288, 290, 291, 292, 293, 295, 304, 307, 309, 310, 314, 315, 319,
    323, 329, 330, 331, 336, 342, 345, 349, 350, 351, 352, 355, 357, 368,
    370, 371, 374, 379, 380, 383, 384, 397, 401, 403, 405, 407, 408, 411,
    412, 413, 414, 417, 419, 421, 423, 427, 429, 430, 432, 440, 441, 442,
    443, 444, 446, 454, 457)


@DATASETS.register_module()
class PascalContextMTDataset(MultiTaskListDataset):
    """PASCAL-Context MT (4,998 train / 5,105 val) of Maninis et al.

    Five tasks: 21-class semseg, 7 human parts, saliency, surface normals
    and boundaries. Reads the ``PASCAL_MT`` folder of ASTMT /
    Multi-Task-Learning-PyTorch / InvPT::

        data_root/ImageSets/Context/{train,val}.txt    ids
        data_root/JPEGImages/<id>.jpg
        data_root/semseg/VOC12/<id>.png, else semseg/pascal-context/<id>.png
                                                       0..20, 255 ignore
        data_root/human_parts/<id>.mat                 PASCAL-Part anno
        data_root/sal_distill/<id>.png                 grey, > 0.5 salient
        data_root/normals_distill/<id>.png             (n + 1) / 2 * 255
        data_root/pascal-context/trainval/<id>.mat     LabelMap (459 cls)

    As the reference loader (``data/pascal_context.py``): semseg is read as
    stored (21 classes); human parts are the 6-part grouping of each
    person's PASCAL-Part parts (``mmmae.datasets.pascal_parts``), all ignore
    when the image has none; saliency is ``v / 255 > 0.5``; normals are
    ``2 * v / 255 - 1`` kept only where the LabelMap class is in
    :data:`NORMALS_VALID_LABELS` (else the 0 vector, invalid); boundaries
    are ``thin(|Laplacian(LabelMap)| > 0)`` (``mmmae.datasets.edges``).
    Not reproduced: the reference keeps, for a parts-only run, only the
    images that contain persons (here they stay, all ignore).

    Args:
        data_root (str): e.g. ``data/PASCAL_MT``.
        split (str): 'train' or 'val'. Default 'train'.
        tasks (Sequence[str], optional): Subset of ('semseg', 'parts',
            'sal', 'normals', 'edge'). None: all five.
        **kwargs: see :class:`MultiTaskListDataset`.

    Shapes:
        after ``LoadMultiModalFromFile`` and ``PackMultiModalInputs``:
        inputs['rgb'] (3, H, W); gt_sem_seg, gt_parts, gt_sal, gt_edge
        (1, H, W); gt_normals (3, H, W)
    """

    METAINFO = dict(classes=PASCAL_MT_CLASSES, palette=PASCAL_MT_PALETTE,
                    parts_classes=HUMAN_PARTS_CLASSES)
    NAME = 'PASCAL-Context MT'
    TASKS = ('semseg', 'parts', 'sal', 'normals', 'edge')
    SPLIT_FILE = 'ImageSets/Context/{split}.txt'
    IMAGE = (('JPEGImages', '.jpg'), )
    TASK_FILES = dict(
        semseg=(('semseg/VOC12', '.png'), ('semseg/pascal-context', '.png')),
        parts=(('human_parts', '.mat'), ),
        sal=(('sal_distill', '.png'), ),
        normals=(('normals_distill', '.png'), ),
        edge=(('pascal-context/trainval', '.mat'), ),
    )

    def sample_info(self, sid: str) -> dict:
        info = super().sample_info(sid)
        info.update(reduce_zero_label=False,
                    num_classes=len(PASCAL_MT_CLASSES),
                    parts_num_classes=len(HUMAN_PARTS_CLASSES))
        if 'normals' in self.tasks:
            info['normals_label_path'] = self._find(
                'LabelMap (normals mask)', self.TASK_FILES['edge'], sid)
            info['normals_valid_labels'] = NORMALS_VALID_LABELS
        return info
