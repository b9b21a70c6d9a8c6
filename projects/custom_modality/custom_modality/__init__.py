"""An out-of-tree modality: an infrared channel beside rgb.

Importing this package (``custom_imports`` in the config) registers the
``infrared`` modality kind and the ``NYUv2ExtraModalitiesDataset``; nothing
in mmmae imports it.
"""
from .infrared import INFRARED, infrared_from_rgb_depth, write_infrared
from .nyuv2_extra import NYUv2ExtraModalitiesDataset

__all__ = [
    'INFRARED', 'infrared_from_rgb_depth', 'write_infrared',
    'NYUv2ExtraModalitiesDataset'
]
