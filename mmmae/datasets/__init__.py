from . import transforms
from .multimodal_folder import MultiModalFolderDataset
from .nyud_mt import NYUDMTDataset
from .nyuv2 import NYUv2MultiTaskDataset
from .hypersim import HypersimDataset
from .nyuv2_classes import NYUV2_CLASSES, NYUV2_PALETTE
from .pascal_context_mt import (PASCAL_MT_CLASSES, PASCAL_MT_PALETTE,
                                PascalContextMTDataset)
from .pascal_parts import HUMAN_PARTS_CLASSES
from .synthetic_nyuv2 import generate_synthetic_nyuv2
from .tasks import TASK_FIELDS, check_tasks

__all__ = [
    'transforms', 'MultiModalFolderDataset', 'NYUv2MultiTaskDataset',
    'HypersimDataset',
    'NYUDMTDataset', 'PascalContextMTDataset', 'NYUV2_CLASSES',
    'NYUV2_PALETTE', 'PASCAL_MT_CLASSES', 'PASCAL_MT_PALETTE',
    'HUMAN_PARTS_CLASSES', 'generate_synthetic_nyuv2', 'TASK_FIELDS',
    'check_tasks'
]
from . import multi_domain  # noqa: F401
