from .formatting import PackMultiModalInputs
from .geometric import (MultiModalCenterCrop, MultiModalPad,
                        MultiModalRandomCrop, MultiModalRandomFlip,
                        MultiModalRandomResize, MultiModalRandomResizedCrop,
                        MultiModalResize)
from .loading import LoadMultiModalFromFile
from .photometric import MultiModalRandomGrayscale, RGBColorJitter

__all__ = [
    'LoadMultiModalFromFile', 'MultiModalResize', 'MultiModalRandomResize',
    'MultiModalRandomCrop', 'MultiModalCenterCrop', 'MultiModalRandomFlip',
    'MultiModalRandomResizedCrop', 'MultiModalPad', 'RGBColorJitter',
    'MultiModalRandomGrayscale', 'PackMultiModalInputs'
]
