"""Load converted or public checkpoints into mmmae models, loudly.

mmengine's ``Pretrained`` init loads with ``strict=False`` and only warns on
a size mismatch, so a ViT-S checkpoint silently leaves a ViT-B model random.
``check_state_dict_fits`` raises instead, naming every key that does not fit
and both shapes; ``load_pretrained`` converts official MultiMAE and timm /
MAE weights on the fly, checks, loads and reports missing and unexpected
keys. Positional tables of another grid are allowed: the adapters' and
decoders' load pre-hooks resize them.
"""
from typing import Dict, List, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log
from torch import Tensor

from mmmae.utils.checkpoint import load_checkpoint_file
from .checkpoint_convert import (convert_multimae, convert_vit,
                                 detect_checkpoint_format, unwrap_state_dict)

__all__ = ['check_state_dict_fits', 'load_pretrained']

_MAX_LISTED = 10


def _resizable(key: str, loaded: Tensor, own: Tensor) -> bool:
    """A (1, D, h, w) position table of the same width: resized on load."""
    return (key.endswith('pos_embed') and loaded.dim() == 4
            and own.dim() == 4 and loaded.shape[:2] == own.shape[:2])


def check_state_dict_fits(model: nn.Module, state_dict: Dict[str, Tensor]
                          ) -> Tuple[List[str], List[str]]:
    """Raise unless every shared key has the model's shape.

    Returns:
        tuple: (missing keys, unexpected keys).

    Raises:
        ValueError: no checkpoint key matches the model (another
            architecture, e.g. a ResNet), or some shared keys have other
            shapes (e.g. width 384 into a 768 model); the message lists them.
    """
    own = model.state_dict()
    name = type(model).__name__
    shared = [k for k in state_dict if k in own]
    if not shared:
        raise ValueError(
            f'no key of the checkpoint matches the {name} model: the '
            f'checkpoint has {list(state_dict)[:5]}..., the model '
            f'{list(own)[:5]}...; is it a checkpoint of another '
            'architecture, or does it need a converter '
            '(tools/model_converters/)?')
    bad = [
        f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model '
        f'{tuple(own[k].shape)}' for k in shared
        if state_dict[k].shape != own[k].shape
        and not _resizable(k, state_dict[k], own[k])
    ]
    if bad:
        more = f'; ... and {len(bad) - _MAX_LISTED} more' \
            if len(bad) > _MAX_LISTED else ''
        raise ValueError(
            f'{len(bad)} of {len(shared)} checkpoint tensors do not fit the '
            f'{name} model (another architecture or width?): ' +
            '; '.join(bad[:_MAX_LISTED]) + more)
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    return missing, unexpected


def _to_model_names(model: nn.Module,
                    state_dict: Dict[str, Tensor]) -> Dict[str, Tensor]:
    """Strip ``backbone.`` when loading into a bare backbone."""
    own = model.state_dict()
    if any(k.startswith('backbone.') for k in own):
        return state_dict
    return {(k[len('backbone.'):] if k.startswith('backbone.') else k): v
            for k, v in state_dict.items()}


def load_pretrained(model: nn.Module,
                    checkpoint: Union[str, dict],
                    strict: bool = False,
                    add_ignore_row: bool = True,
                    trusted: bool = False) -> Tuple[List[str], List[str]]:
    """Convert if needed, check, load and report.

    Args:
        model (nn.Module): An mmmae model with a ``backbone`` (MultiMAE, a
            segmentor) or a bare ``MultiViT``.
        checkpoint (str | dict): A file (loaded safely, see
            ``mmmae.utils.checkpoint``) or an already loaded checkpoint:
            official MultiMAE, timm / MAE ViT, or mmmae.
        strict (bool): Also fail on missing or unexpected keys.
        add_ignore_row (bool): See ``convert_multimae``.
        trusted (bool): Unpickle the file without the allowlist.

    Returns:
        tuple: (missing keys, unexpected keys), also logged.
    """
    if isinstance(checkpoint, str):
        checkpoint = load_checkpoint_file(checkpoint, 'cpu', trusted=trusted)
    state_dict = unwrap_state_dict(checkpoint)
    kind = detect_checkpoint_format(state_dict)
    if kind == 'multimae':
        state_dict = convert_multimae(state_dict, add_ignore_row)
    elif kind == 'vit':
        state_dict = convert_vit(state_dict)
    state_dict = _to_model_names(model, state_dict)
    missing, unexpected = check_state_dict_fits(model, state_dict)
    model.load_state_dict(state_dict, strict=strict)
    print_log(
        f'Loaded a {kind} checkpoint into {type(model).__name__}: '
        f'{len(missing)} missing keys {missing[:20]}, {len(unexpected)} '
        f'unexpected keys {unexpected[:20]}',
        logger='current')
    return missing, unexpected
