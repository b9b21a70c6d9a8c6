from .backbone_layer_decay_constructor import \
    BackboneLayerDecayOptimWrapperConstructor
from .prompt_optim_wrapper_constructor import PromptOptimWrapperConstructor

__all__ = [
    'PromptOptimWrapperConstructor',
    'BackboneLayerDecayOptimWrapperConstructor'
]
