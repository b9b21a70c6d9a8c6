"""BitFit and LayerNorm tuning: methods that add nothing and unfreeze a
chosen set of the backbone's own parameters.

- BitFit (Ben Zaken, Goldberg and Ravfogel, ACL 2022): every bias term of
  the frozen encoder trains, and nothing else of it (the task heads train
  as always). Faithful: all biases of the backbone's linear, conv and
  LayerNorm layers (the paper's bias terms include the LayerNorm biases).
- LayerNorm tuning (LN-tuning, Qi et al., 2022; "Tuning LayerNorm in
  Attention", Zhao et al., ICLR 2024): the gain and bias of every
  LayerNorm train, nothing else of the backbone. The layers are found by
  type, not by name.

Both were regexes in configs before (``trainable_patterns=('norm',)``);
as named methods they go into the checkpoint's model record, and their
trainable share is reported like any other method's.
"""
import re
from typing import Tuple

import torch.nn as nn

from mmmae.registry import MODELS
from .base_peft import _PLUGIN_CHILDREN, BasePEFT


class _TrainableSubset(BasePEFT):
    """Unfreeze the backbone parameters whose names ``_select`` picks."""

    what = 'parameters'

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._patterns: Tuple[str, ...] = ()
        self.param_names: Tuple[str, ...] = ()

    def _select(self, backbone: nn.Module) -> Tuple[str, ...]:
        raise NotImplementedError

    def attach(self, backbone: nn.Module) -> None:
        super().attach(backbone)
        names = tuple(
            n for n in self._select(backbone)
            if n.split('.', 1)[0] not in _PLUGIN_CHILDREN)
        if not names:
            raise ValueError(f'{type(self).__name__}: '
                             f'{type(backbone).__name__} has no {self.what}')
        self.param_names = names
        # Exact names: a regex would also catch layers added later.
        self._patterns = tuple(f'^{re.escape(n)}$' for n in names)

    def trainable_patterns(self) -> Tuple[str, ...]:
        return self._patterns


@MODELS.register_module()
class BitFit(_TrainableSubset):
    """Bias tuning: every ``*.bias`` parameter of the backbone trains.

    Shapes:
        no change to any computation; ``param_names`` lists what trains.
    """

    what = 'bias parameters'

    def _select(self, backbone: nn.Module) -> Tuple[str, ...]:
        return tuple(n for n, _ in backbone.named_parameters()
                     if n.endswith('.bias') or n == 'bias')


@MODELS.register_module()
class LNTuning(_TrainableSubset):
    """LayerNorm tuning: the affine gain and bias of every LayerNorm train.

    Shapes:
        no change to any computation; ``param_names`` lists what trains.
    """

    what = 'LayerNorm with affine parameters'

    def _select(self, backbone: nn.Module) -> Tuple[str, ...]:
        names = []
        for name, module in backbone.named_modules():
            if isinstance(module, nn.LayerNorm):
                names += [f'{name}.{p}' for p, _ in
                          module.named_parameters(recurse=False)]
        return tuple(names)
