# Importing the subpackages registers every model component in MODELS.
from . import (adapters, backbones, classifiers, data_preprocessors, heads, layers,
               losses, peft, pretrainers, prompts, segmentors)

__all__ = [
    'adapters', 'backbones', 'classifiers', 'data_preprocessors', 'heads', 'layers',
    'losses', 'peft', 'pretrainers', 'prompts', 'segmentors'
]
