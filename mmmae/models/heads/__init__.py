"""Task heads for fine-tuning.

- ``MultiMAEDPTHead`` (depth) and ``ConvNeXtHead`` (semantic segmentation) follow
  mmseg's decode-head conventions, so ``MultiTaskSegmentor`` (and mmseg
  segmentors) drive them through ``loss()`` / ``predict()``. Either serves
  any dense task kind (``task_kind.py``: segmentation, parts, depth,
  normals, boundary, saliency) through its ``kind`` option.
- Classification on the global or average token needs no head of ours:
  mmpretrain's ``LinearClsHead`` does the job (``type='mmpretrain.
  LinearClsHead'``) behind a pooling neck (``mmpretrain.
  GlobalAveragePooling``) on the backbone's last map.
"""
from .base_depth_head import BaseDepthHead
from .convnext_head import ConvNeXtHead
from .dpt_head import MultiMAEDPTHead
from .task_kind import TASK_KINDS, TaskKind, TaskKindMixin, get_task_kind

__all__ = [
    'BaseDepthHead', 'ConvNeXtHead', 'MultiMAEDPTHead', 'TASK_KINDS', 'TaskKind',
    'TaskKindMixin', 'get_task_kind'
]
