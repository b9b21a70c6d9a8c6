"""Which model a checkpoint belongs to, and a clear error when it is not
the one a config builds.

Every checkpoint a Runner writes carries ``meta['mmmae_model']`` (written
by ``ModelIdentityHook``): the model type, its encoders' type, width and
depth, the prompt type, the weight-side PEFT method when there is one
(``backbone.peft``, e.g. ``peft='LoRA'``; no key without one, as in older
records) and the task heads, e.g.::

    dict(type='MultiTaskSegmentor',
         backbone=dict(type='MultiViT', embed_dims=32, depth=2),
         prompt='MultiTaskPrompt',
         heads=dict(depth='MultiMAEDPTHead', semseg='ConvNeXtHead'))

At load time (``tools/test.py``, ``mmmae.apis.init_model``, resume) the
record is compared with the model the config built, and the trainable
parameters the config needs (prompts, heads) must be in the checkpoint
with their shapes. A checkpoint without the record (converted, older) is
judged from its keys alone. Either way a mismatch raises
:class:`WrongModelCheckpointError` naming both models, instead of
silently leaving prompts or heads random.
"""
import re
from collections import Counter
from typing import Dict, List, Optional

import torch.nn as nn
from mmengine.model import BaseTTAModel, is_model_wrapper

from .config_errors import RENAMED_TYPES

IDENTITY_KEY = 'mmmae_model'
_ENCODERS = ('backbone', 'vision_encoder', 'text_encoder')
_HEADS = ('decode_heads', 'decoders', 'heads')
_HEAD = ('decode_head', 'head')
# What FSDP (and its activation checkpointing) insert into parameter names.
_FSDP_INFIX = re.compile(
    r'(_fsdp_wrapped_module|_checkpoint_wrapped_module)\.')
_SHOWN = 8  # names listed in an error before "... and N more"


class WrongModelCheckpointError(ValueError):
    """The checkpoint holds another model than the one the config builds."""


def _unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DDP wrapper or a test-time-augmentation model
    (``tools/test.py --tta``): the checkpoint holds that one."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def _is_sharded(model: nn.Module) -> bool:
    """Any part of ``model`` is an FSDP unit."""
    import torch.distributed as dist
    if not dist.is_available():
        return False
    from torch.distributed.fsdp import FullyShardedDataParallel
    return any(
        isinstance(m, FullyShardedDataParallel) for m in model.modules())


def _encoder_identity(module: nn.Module) -> dict:
    ident = dict(type=type(module).__name__)
    for key, attr in (('embed_dims', 'embed_dims'), ('depth', 'num_layers')):
        value = getattr(module, attr, None)
        if isinstance(value, int):
            ident[key] = value
    return ident


def _prompt(model: nn.Module) -> Optional[nn.Module]:
    prompt = getattr(model, 'prompt', None)
    if prompt is None:
        prompt = getattr(getattr(model, 'backbone', None), 'prompt', None)
    return prompt if isinstance(prompt, nn.Module) else None


def _peft(model: nn.Module) -> Optional[nn.Module]:
    peft = getattr(model, 'peft', None)
    if peft is None:
        peft = getattr(getattr(model, 'backbone', None), 'peft', None)
    return peft if isinstance(peft, nn.Module) else None


def model_identity(model: nn.Module) -> dict:
    """The identity record of ``model`` (see the module docstring).

    Args:
        model (nn.Module): The model, possibly in a DDP wrapper.

    Returns:
        dict: plain str/int values only, so it pickles under the
        ``weights_only`` allowlist.
    """
    model = _unwrap(model)
    ident: dict = dict(type=type(model).__name__)
    for attr in _ENCODERS:
        module = getattr(model, attr, None)
        if isinstance(module, nn.Module):
            ident[attr] = _encoder_identity(module)
    prompt = _prompt(model)
    ident['prompt'] = type(prompt).__name__ if prompt is not None else None
    peft = _peft(model)
    if peft is not None:  # absent, as in older records, when there is none
        ident['peft'] = type(peft).__name__
    heads = {}
    for attr in _HEADS:
        group = getattr(model, attr, None)
        if isinstance(group, nn.ModuleDict):
            heads.update({k: type(v).__name__ for k, v in group.items()})
    for attr in _HEAD:
        head = getattr(model, attr, None)
        if isinstance(head, nn.Module):
            heads[attr] = type(head).__name__
    ident['heads'] = heads
    return ident


def describe(ident: dict) -> str:
    """One line, e.g. ``MultiTaskSegmentor(backbone=MultiViT(embed_dims=32,
    depth=2), prompt=MultiTaskPrompt, heads={depth: MultiMAEDPTHead})``."""
    parts = []
    for attr in _ENCODERS:
        if attr in ident:
            enc = dict(ident[attr])
            sizes = ', '.join(f'{k}={v}' for k, v in enc.items() if k != 'type')
            parts.append(f'{attr}={enc["type"]}({sizes})')
    parts.append(f'prompt={ident.get("prompt")}')
    if ident.get('peft') is not None:
        parts.append(f'peft={ident["peft"]}')
    heads = ident.get('heads') or {}
    if heads:
        parts.append('heads={' + ', '.join(f'{k}: {v}'
                                           for k, v in heads.items()) + '}')
    return f'{ident.get("type")}({", ".join(parts)})'


# Class names a checkpoint may record from before a rename: the same class
# (the one table of renames, which also explains the old names in configs).
_FORMER_NAMES = {old: new for old, (new, _) in RENAMED_TYPES.items()}


def identity_mismatch(saved: dict, built: dict) -> List[str]:
    """What differs between a checkpoint's record and the built model.

    The type, the encoders, the prompt type and the PEFT method must be
    equal; every head
    the config builds must be in the checkpoint with the same type (a
    config may test a subset of a multi-task checkpoint's heads).

    Returns:
        list[str]: one phrase per difference; empty when compatible.
    """
    if saved.get('type') != built.get('type'):
        # Another kind of model altogether: the descriptions say the rest.
        return [f'type: checkpoint {saved.get("type")}, config '
                f'{built.get("type")}']
    diffs = []
    for key in _ENCODERS + ('prompt', 'peft'):
        if saved.get(key) != built.get(key):
            diffs.append(f'{key}: checkpoint {saved.get(key)}, config '
                         f'{built.get(key)}')
    saved_heads = {task: _FORMER_NAMES.get(head, head)
                   for task, head in (saved.get('heads') or {}).items()}
    for task, head in (built.get('heads') or {}).items():
        if saved_heads.get(task) != head:
            diffs.append(f'head "{task}": checkpoint '
                         f'{saved_heads.get(task)}, config {head}')
    return diffs


def _top_level(keys) -> str:
    counts = Counter(k.split('.', 1)[0] for k in keys)
    shown = ', '.join(f'{k} ({n})' for k, n in counts.most_common(_SHOWN))
    return shown or 'no keys'


def _names(names: List[str]) -> str:
    more = len(names) - _SHOWN
    return ', '.join(names[:_SHOWN]) + (f' ... and {more} more'
                                        if more > 0 else '')


def check_model_checkpoint(model: nn.Module,
                           checkpoint: dict,
                           filename: Optional[str] = None,
                           frozen_from_base: bool = False) -> None:
    """Raise if ``checkpoint`` is not a checkpoint of ``model``.

    Args:
        model (nn.Module): The model the config built.
        checkpoint (dict): The loaded checkpoint (``state_dict``, ``meta``).
        filename (str, optional): Its path, for the message.
        frozen_from_base (bool): The frozen parameters come from a base
            checkpoint (a delta checkpoint), so only the trainable ones
            must be in ``checkpoint``.

    Raises:
        WrongModelCheckpointError: the recorded identity differs, or
            trainable parameters of ``model`` are missing from the
            checkpoint or have other shapes.
    """
    # FSDP (FlexibleRunner's FSDPStrategy): names carry its wrapper infix,
    # shapes are this rank's shard; FSDP's load checks the full shapes.
    sharded = _is_sharded(model)
    model = _unwrap(model)
    name = filename or 'the checkpoint'
    built = model_identity(model)
    state: Dict = checkpoint.get('state_dict', checkpoint)
    state = {(k[7:] if k.startswith('module.') else k): v
             for k, v in state.items()}
    meta = checkpoint.get('meta') or {}
    saved = meta.get(IDENTITY_KEY) if isinstance(meta, dict) else None
    if saved is not None:
        origin = describe(saved)
    else:
        origin = ('a model without an mmmae model record (converted or '
                  f'older checkpoint) whose top-level keys are '
                  f'{_top_level(state)}')
    if saved is not None and describe(saved) == describe(built):
        # Same kind of model, other parameters: the config or the code
        # changed since the checkpoint was saved.
        head = (f'{name} does not fit the model the config builds: both are '
                f'{describe(built)}, but the parameters differ (did the '
                'config or the code change since it was saved?)')
    else:
        head = (f'{name} is a checkpoint of another model: it comes from '
                f'{origin}; the config builds {describe(built)}')
    if saved is not None:
        diffs = identity_mismatch(saved, built)
        if diffs:
            raise WrongModelCheckpointError(f'{head}. Differences: '
                                            f'{"; ".join(diffs)}')
    params = {_FSDP_INFIX.sub('', n): p for n, p in model.named_parameters()}
    needed = [n for n, p in params.items()
              if p.requires_grad or not frozen_from_base]
    missing = [n for n in needed if n not in state]
    trainable_missing = [n for n in missing if params[n].requires_grad]
    if trainable_missing or (needed and len(missing) == len(needed)):
        what = trainable_missing or missing
        raise WrongModelCheckpointError(
            f'{head}. It lacks {len(what)} parameter(s) the config trains '
            f'or needs: {_names(what)}')
    wrong = [f'{n} {tuple(state[n].shape)} vs {tuple(params[n].shape)}'
             for n in needed
             if not sharded and n in state and params[n].requires_grad
             and hasattr(state[n], 'shape')
             and tuple(state[n].shape) != tuple(params[n].shape)]
    if wrong:
        raise WrongModelCheckpointError(
            f'{head}. Trainable parameters differ in shape (checkpoint vs '
            f'config): {_names(wrong)}')


def add_model_check(cfg, strict: bool = True) -> None:
    """Make a Runner built from ``cfg`` check the model of every checkpoint
    it loads (``tools/test.py`` calls this): sets ``strict`` on the
    config's ``ModelIdentityHook`` or adds one."""
    hooks = cfg.get('default_hooks', None)
    for container in ((hooks or {}).values(),
                      cfg.get('custom_hooks', None) or []):
        for hook in container:
            if isinstance(hook, dict) and str(hook.get(
                    'type', '')).split('.')[-1] == 'ModelIdentityHook':
                hook['strict'] = strict
                return
    custom = list(cfg.get('custom_hooks', None) or [])
    custom.append(dict(type='ModelIdentityHook', strict=strict))
    cfg['custom_hooks'] = custom
