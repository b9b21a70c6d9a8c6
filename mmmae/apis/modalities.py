"""Run a multi-modal dense model on a subset of the modalities it was
trained with (MultiMAE's selling point: an RGB-D model tested on RGB only).

``restrict_input_modalities(model, ('rgb', ))`` changes which inputs a built
``MultiTaskSegmentor`` reads; the weights are untouched (every input adapter
stays, unused ones are simply not called). MultiViT accepts any subset of
its adapters. What may fail is a head's ``TokenReadout``:

- ``modalities=None`` (mean over the modalities present) reads any subset;
- ``mode='mean'`` with explicit modalities falls back to the mean of those
  that are kept (the map's channel count does not depend on how many);
- ``mode='concat'`` needs every modality it names: the head's input width is
  ``D x len(modalities)``, so dropping one of them is an error naming the
  head, its readout and the dropped modality.
"""
from typing import Dict, List, Sequence, Tuple

import torch.nn as nn

from mmmae.models.layers.token_readout import TokenReadout

__all__ = [
    'UnknownModalityError', 'ModalitySubsetError', 'known_modalities',
    'restrict_input_modalities', 'describe_modalities',
    'set_dataset_modalities'
]


class UnknownModalityError(KeyError):
    """A requested modality has no input adapter in the model."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class ModalitySubsetError(ValueError):
    """The model cannot run on the requested subset of its modalities."""


def known_modalities(model: nn.Module) -> Tuple[str, ...]:
    """The modalities a model has an input adapter for."""
    adapters = getattr(getattr(model, 'backbone', None), 'input_adapters',
                       None)
    if adapters is None or not hasattr(model, 'input_modalities'):
        raise ModalitySubsetError(
            f'{type(model).__name__} takes no choice of input modalities '
            '(it needs a backbone with input_adapters, e.g. MultiViT, in a '
            'MultiTaskSegmentor)')
    return tuple(adapters)


def _parse(modalities) -> Tuple[str, ...]:
    if isinstance(modalities, str):
        modalities = modalities.replace(',', ' ').split()
    names = tuple(dict.fromkeys(modalities))
    if not names:
        raise ModalitySubsetError('no input modality given')
    return names


def restrict_input_modalities(model: nn.Module,
                              modalities: Sequence[str]) -> Dict[str, list]:
    """Make ``model`` read only ``modalities`` (in place).

    Args:
        model (nn.Module): A built ``MultiTaskSegmentor``.
        modalities (Sequence[str] | str): The inputs to use, e.g.
            ``('rgb', )`` or ``'rgb,depth'``.

    Returns:
        dict: ``used`` (the modalities now read, in the backbone's order),
        ``known`` (every modality with an adapter), ``trained`` (what the
        model read before) and ``fallbacks`` (one line per head whose
        readout now averages fewer modalities).

    Raises:
        UnknownModalityError: a name with no input adapter; the message
            names it and the known ones.
        ModalitySubsetError: a head's ``'concat'`` readout needs a dropped
            modality.
    """
    known = known_modalities(model)
    names = _parse(modalities)
    unknown = [m for m in names if m not in known]
    if unknown:
        raise UnknownModalityError(
            f'input modalities {unknown} have no input adapter in '
            f'{type(model).__name__}; it knows {list(known)}')
    used = tuple(m for m in known if m in names)  # the backbone's order
    trained = tuple(model.input_modalities or known)
    readouts: Dict[str, TokenReadout] = dict(getattr(model, 'readouts', {}))
    new, fallbacks = {}, []
    for task, ro in readouts.items():
        if ro.modalities is None or all(m in used for m in ro.modalities):
            new[task] = ro
            continue
        dropped = [m for m in ro.modalities if m not in used]
        kept = tuple(m for m in ro.modalities if m in used)
        if ro.mode == 'mean' and kept:
            new[task] = TokenReadout(kept, mode='mean')
            fallbacks.append(f'{task}: readout mean of {list(kept)} '
                             f'(trained on {list(ro.modalities)})')
            continue
        raise ModalitySubsetError(
            f'decode_heads.{task} reads the tokens of {list(ro.modalities)} '
            f'({ro!r}); the inputs {list(used)} drop {dropped}. A "concat" '
            'readout needs all of its modalities (the head\'s width is '
            'embed_dims x their number). Keep them, or use a model whose '
            'readout averages the modalities present (readout=dict('
            'modalities=None, mode="mean"), as the maprompt configs).')
    model.input_modalities = used
    if readouts:
        model.readouts = new
    return dict(used=list(used), known=list(known), trained=list(trained),
                fallbacks=fallbacks)


def describe_modalities(report: Dict[str, list]) -> str:
    """One line (plus fallbacks) saying which inputs were used."""
    line = (f'input modalities used: {", ".join(report["used"])} (the model '
            f'was trained on {", ".join(report["trained"])}; it has '
            f'adapters for {", ".join(report["known"])})')
    return '\n'.join([line] + [f'  {f}' for f in report['fallbacks']])


def set_dataset_modalities(dataset_cfg, modalities: List[str]) -> None:
    """Load only ``modalities`` in a dataset config that lists them (the
    model would ignore the others anyway; this saves reading them)."""
    if isinstance(dataset_cfg, dict):
        if 'modalities' in dataset_cfg:
            dataset_cfg['modalities'] = tuple(modalities)
        for key in ('dataset', 'datasets'):
            sub = dataset_cfg.get(key)
            for d in (sub if isinstance(sub, (list, tuple)) else [sub]):
                set_dataset_modalities(d, modalities)
