from .base import MMMAEInferencer
from .clip_inferencer import MultiTaskCLIPInferencer
from .dense_inferencer import MultiTaskDenseInferencer
from .reconstruction_inferencer import MultiMAEReconstructionInferencer

__all__ = [
    'MMMAEInferencer', 'MultiTaskDenseInferencer',
    'MultiMAEReconstructionInferencer', 'MultiTaskCLIPInferencer'
]
