"""Refuse CLIP checkpoints made for another MLP activation than the tower's.

OpenAI's CLIP weights were trained with QuickGELU and most open_clip
weights with GELU. The tensors of the two are indistinguishable, and a GELU
checkpoint run with QuickGELU (or the reverse) silently gives features about
1e-2 off. So the activation travels with the weights, in the state dict's
per-module metadata (``state_dict._metadata[<tower prefix>]['act']``, where
torch keeps each module's ``version``):

- every state dict a tower produces records its own ``act`` (so training
  checkpoints and frozen-base files carry it);
- ``tools/model_converters/clip2mmmae.py`` writes it into converted files
  (and into their ``meta['act']``);
- the towers' load pre-hooks compare it with their ``act`` and raise on a
  mismatch. Files without the record (older conversions, hand-made state
  dicts) load unchecked.
"""
from typing import Mapping

import torch.nn as nn

ACT_KEY = 'act'


def record_act(module: nn.Module, state_dict, prefix: str,
               local_metadata: dict) -> None:
    """State-dict hook: note the tower's activation in its metadata."""
    local_metadata[ACT_KEY] = module.act


def check_incoming_act(module: nn.Module, local_metadata: Mapping,
                       prefix: str) -> None:
    """Raise ``ValueError`` naming both activations when they differ."""
    act = (local_metadata or {}).get(ACT_KEY)
    if act is not None and act != module.act:
        where = prefix[:-1] or type(module).__name__
        raise ValueError(
            f'{type(module).__name__} "{where}" is built with '
            f'act="{module.act}" but its checkpoint was made for '
            f'act="{act}"; set act="{act}" on the tower in the config '
            f'(e.g. model.{where}.act) or convert the weights with the '
            'right --act')
