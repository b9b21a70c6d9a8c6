"""Refuse checkpoints whose tensors do not fit a CLIP tower.

torch and mmengine only warn on a size mismatch when loading non-strictly
(``init_cfg=dict(type='Pretrained')``, ``load_from``), which would leave a
frozen tower randomly initialised. The towers call this from a load
pre-hook, so a ViT-L/14 checkpoint given to a ViT-B/16 model fails at once.
"""
from typing import Dict

import torch.nn as nn
from torch import Tensor


def check_incoming_shapes(module: nn.Module, state_dict: Dict[str, Tensor],
                          prefix: str, arch: str) -> None:
    """Raise ``ValueError`` naming every key whose shape differs.

    Args:
        module (nn.Module): The tower being loaded.
        state_dict (dict): The full incoming state dict.
        prefix (str): The tower's prefix in ``state_dict``.
        arch (str): Architecture name for the message.
    """
    own = dict(module.named_parameters())
    own.update(module.named_buffers())
    bad = []
    for name, tensor in own.items():
        key = prefix + name
        if key in state_dict and \
                tuple(state_dict[key].shape) != tuple(tensor.shape):
            bad.append(f'{key}: checkpoint {tuple(state_dict[key].shape)} '
                       f'vs model {tuple(tensor.shape)}')
    if bad:
        raise ValueError(
            f'{type(module).__name__} (arch {arch}) cannot load this '
            'checkpoint; it is of another width or size: ' + '; '.join(bad))
