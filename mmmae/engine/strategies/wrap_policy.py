"""FSDP auto-wrap policy for mmmae's transformers.

FSDP gathers a wrapped unit's parameters only when that unit's ``forward``
runs. mmmae calls other methods of its big modules (``MultiMAE`` calls
``backbone.tokenize`` and ``backbone.forward_tokens``), so wrapping by size
(torch's ``size_based_auto_wrap_policy``) can wrap the backbone and then hand
the patch adapters their sharded, flat weights ("weight should have at least
three dimensions"). Every ``Block`` (the encoder's and the decoders'
self-attention blocks) is only ever called through ``forward``, and holds
almost all parameters (12.6M each in ViT-L), so one unit per block is both
safe and fine-grained; everything else stays in the root unit.

Config use (``strategy.model_wrapper`` of mmengine's ``FSDPStrategy``)::

    # mmengine looks the name up in its root FUNCTIONS: the scope prefix
    # is what finds mmmae's.
    auto_wrap_policy=dict(type='mmmae.multivit_block_wrap_policy')
"""
import torch.nn as nn
from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy

from mmmae.models.layers import Block
from mmmae.registry import FUNCTIONS


@FUNCTIONS.register_module()
def multivit_block_wrap_policy(module: nn.Module, recurse: bool,
                               nonwrapped_numel: int) -> bool:
    """Wrap each :class:`~mmmae.models.layers.Block` in its own FSDP unit.

    The ``(module, recurse, nonwrapped_numel)`` signature of torch's
    function policies: ``recurse`` asks whether to descend into ``module``
    (always), otherwise whether to wrap it (only blocks).
    """
    return transformer_auto_wrap_policy(
        module, recurse, nonwrapped_numel, transformer_layer_cls={Block})
