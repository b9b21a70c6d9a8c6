"""Layer-wise lr decay for a model whose backbone knows its layer depths.

mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` asks the model
itself for ``get_layer_depth``. mmpretrain's ``ImageClassifier`` and mmmae's
``MultiTaskSegmentor`` have one; mmseg's ``EncoderDecoder`` has not, so a
stock mmseg model with a MultiViT backbone could not use layer decay. This
subclass falls back to ``model.backbone.get_layer_depth(name, 'backbone.')``
(names outside the backbone, the heads, go to the last layer), exactly what
``ImageClassifier.get_layer_depth`` does.
"""
from typing import Callable, List, Optional

import torch.nn as nn
from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor

from mmmae.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BackboneLayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's layer-decay constructor, reading the backbone's depths
    when the model has no ``get_layer_depth`` (e.g. mmseg EncoderDecoder).

    Args: as ``LearningRateDecayOptimWrapperConstructor`` (``paramwise_cfg``
    with ``layer_decay_rate``, ``flat_decay_mult``, ``custom_keys``, ...).

    Shapes:
        model parameters -> param groups with ``lr = base_lr *
        layer_decay_rate ** (max_id - layer_id - 1)``
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   get_layer_depth: Optional[Callable] = None,
                   **kwargs) -> None:
        if get_layer_depth is None and not hasattr(module, 'get_layer_depth'):
            backbone = getattr(module, 'backbone', None)
            if backbone is None or not hasattr(backbone, 'get_layer_depth'):
                raise NotImplementedError(
                    f'layer-wise lr decay needs {type(module).__name__} or '
                    'its backbone to have get_layer_depth (MultiViT, '
                    "mmpretrain's VisionTransformer)")

            def get_layer_depth(name):
                return backbone.get_layer_depth(name, 'backbone.')

        super().add_params(params, module, prefix=prefix,
                           get_layer_depth=get_layer_depth, **kwargs)
