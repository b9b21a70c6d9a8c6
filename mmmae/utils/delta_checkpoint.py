"""Trainable-only ("delta") checkpoints of frozen-backbone runs.

A prompt run trains about 1% of the model. Its checkpoints keep everything
except the frozen parameters (``requires_grad=False``): prompts, heads,
unfrozen norms or biases, and all buffers (small, and heads may need them).
``meta['delta_checkpoint']`` records the base they need:

    dict(sources=[dict(path=..., prefix=..., target=..., sha256=...)],
         fingerprint=..., num_frozen=..., frozen_numel=...)

``sources`` say how the frozen weights were loaded in training, replayed
with the reading rules of mmengine's ``PretrainedInit`` (what the
``init_cfg`` ran):
a module's ``init_cfg=dict(type='Pretrained', checkpoint, prefix)`` gives
``target`` = that module's name, ``cfg.load_from`` gives the whole model.
A local pre-trained file is referred to, not copied: ``sha256`` is the hash
of its bytes, checked at load time (:class:`BaseFileChangedError`).

A run with a randomly initialised frozen part has no source, so the hook
writes the frozen tensors to a content-addressed file,
``<work_dir>/frozen_base-<fingerprint[:12]>.pth``: written once
(atomically), never overwritten while valid, reused by every run with the
same frozen weights, and never deleted by mmmae. A second run in the same
work dir with other frozen weights gets another file, so the first run's
checkpoints keep their base.

``fingerprint`` is the sha256 of the frozen tensors' names, shapes and
values, so a wrong base is caught before any prediction.

Loading: :func:`load_checkpoint` (for ``init_model``) and the
``DeltaCheckpointHook.after_load_checkpoint`` (for the Runner, so
``tools/test.py`` and resume) load the base into the model, check the
fingerprint, then let the usual loader put the delta on top. The base is
loaded without mmengine's "missing keys" warning (every trained tensor is
"missing" from a base); one line says instead what came from where
(:class:`DeltaLoadReport`), and tensors in neither the delta nor its base
are still reported, as a warning that names them.
"""
import hashlib
import logging
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Set, Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.runner.checkpoint import (CheckpointLoader,
                                        _load_checkpoint_with_prefix,
                                        load_state_dict)

from .atomic_io import atomic_torch_save
from .checkpoint import load_checkpoint_file
from .model_identity import check_model_checkpoint

DELTA_KEY = 'delta_checkpoint'
BASE_KEY = 'frozen_base'
BaseOverride = Union[None, str, Sequence[str]]
_HASH_CHUNK = 1 << 20


class MissingBaseCheckpointError(FileNotFoundError):
    """A delta checkpoint's base checkpoint is not given or not found."""


class WrongBaseCheckpointError(ValueError):
    """The base given for a delta checkpoint is not the one it was trained
    on (frozen-weight fingerprint mismatch), or the override does not match
    the recorded sources."""


class BaseFileChangedError(WrongBaseCheckpointError):
    """A pre-trained file a delta checkpoint refers to has other bytes
    (sha256) than when the delta was trained."""


def frozen_parameter_names(model: nn.Module) -> List[str]:
    """Sorted names of the parameters with ``requires_grad=False``."""
    return sorted(n for n, p in model.named_parameters()
                  if not p.requires_grad)


def fingerprint_state(state: Mapping[str, torch.Tensor]) -> str:
    """sha256 over the sorted names, shapes and float32 values of
    ``state``."""
    digest = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().to('cpu', torch.float32).contiguous()
        digest.update(f'{name}:{tuple(t.shape)};'.encode())
        digest.update(t.numpy().tobytes())
    return digest.hexdigest()


def fingerprint(model: nn.Module,
                names: Optional[Sequence[str]] = None) -> str:
    """:func:`fingerprint_state` of the parameters ``names`` of ``model``.

    Args:
        names (Sequence[str], optional): Parameter names; defaults to the
            frozen ones.
    """
    params = dict(model.named_parameters())
    names = frozen_parameter_names(model) if names is None else names
    return fingerprint_state({n: params[n] for n in names})


def file_sha256(path: str) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_HASH_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def _local_sha256(path: str) -> Optional[str]:
    """The hash of a local file; None for URLs (checked by fingerprint)."""
    return file_sha256(path) if '://' not in path and osp.isfile(
        path) else None


def pretrained_sources(model: nn.Module,
                       load_from: Optional[str] = None) -> List[dict]:
    """How the model's weights were loaded, in the order they were applied.

    Returns:
        list[dict]: ``dict(path, prefix, target, sha256)`` for every module
        whose ``init_cfg`` is ``Pretrained``, then ``load_from`` for the
        model; ``sha256`` is the hash of a local file's bytes (None for a
        URL).
    """
    sources = []
    for name, module in model.named_modules():
        cfgs = getattr(module, 'init_cfg', None)
        cfgs = cfgs if isinstance(cfgs, (list, tuple)) else [cfgs]
        for cfg in cfgs:
            if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
                path = cfg['checkpoint']
                sources.append(
                    dict(path=path, prefix=cfg.get('prefix'), target=name,
                         sha256=_local_sha256(path)))
    if load_from:
        sources.append(dict(path=load_from, prefix=None, target='',
                            sha256=_local_sha256(load_from)))
    return sources


def base_record(model: nn.Module, sources: List[dict]) -> dict:
    """The ``meta['delta_checkpoint']`` entry of a delta checkpoint."""
    params = dict(model.named_parameters())
    names = frozen_parameter_names(model)
    return dict(sources=[dict(s) for s in sources],
                fingerprint=fingerprint(model, names),
                num_frozen=len(names),
                frozen_numel=sum(params[n].numel() for n in names))


def base_file_name(fingerprint_hex: str) -> str:
    """The content-addressed name of a frozen-base file."""
    return f'frozen_base-{fingerprint_hex[:12]}.pth'


def is_valid_base(path: str, fingerprint_hex: str) -> bool:
    """Whether ``path`` is a complete frozen-base file whose tensors have
    the fingerprint ``fingerprint_hex`` (recomputed, not just read)."""
    try:
        ckpt = load_checkpoint_file(path, map_location='cpu')
        meta = ckpt['meta'][BASE_KEY]
        state = ckpt['state_dict']
    except Exception:  # missing, truncated, not a base file
        return False
    return (isinstance(meta, dict)
            and meta.get('fingerprint') == fingerprint_hex
            and fingerprint_state(state) == fingerprint_hex)


def write_frozen_base(model: nn.Module, folder: str,
                      logger='current') -> List[dict]:
    """Store the frozen tensors in ``folder`` under their fingerprint.

    ``<folder>/frozen_base-<fingerprint[:12]>.pth`` is written atomically
    when absent; a valid file of that name is reused as it is (same name,
    same tensors), so it is never rewritten under a checkpoint that uses
    it. A damaged file of that name is replaced: no checkpoint can load
    from it, and the new bytes are the ones its checkpoints need.

    Returns:
        list[dict]: the file as the only base source.
    """
    params = dict(model.named_parameters())
    state = {n: params[n].detach().cpu() for n in frozen_parameter_names(model)}
    fp = fingerprint_state(state)
    path = osp.abspath(osp.join(folder, base_file_name(fp)))
    if is_valid_base(path, fp):
        print_log(f'reusing the frozen base {path} (same fingerprint)',
                  logger=logger)
    else:
        if osp.exists(path):
            print_log(f'frozen base {path} is damaged; writing it again',
                      logger=logger, level=30)
        meta = {BASE_KEY: dict(fingerprint=fp, num_frozen=len(state))}
        atomic_torch_save(dict(state_dict=state, meta=meta), path)
        print_log(f'wrote the frozen weights to {path}', logger=logger)
    return [dict(path=path, prefix=None, target='', sha256=None)]


def make_delta(checkpoint: dict, model: nn.Module, record: dict) -> dict:
    """Drop the frozen parameters from ``checkpoint`` in place, add meta."""
    frozen = set(frozen_parameter_names(model))
    if not frozen:
        return checkpoint  # nothing frozen: a full checkpoint is the delta
    state = checkpoint['state_dict']
    kept = type(state)((k, v) for k, v in state.items() if k not in frozen)
    checkpoint['state_dict'] = kept
    checkpoint.setdefault('meta', {})[DELTA_KEY] = record
    return checkpoint


def is_delta(checkpoint: dict) -> bool:
    return isinstance(checkpoint, dict) and DELTA_KEY in (
        checkpoint.get('meta') or {})


def _resolve_sources(record: dict, override: BaseOverride) -> List[dict]:
    sources = [dict(s) for s in record['sources']]
    if override is None:
        return sources
    paths = [override] if isinstance(override, str) else list(override)
    if len(paths) != len(sources):
        raise WrongBaseCheckpointError(
            f'base checkpoint override {paths} gives {len(paths)} path(s); '
            f'the delta checkpoint recorded {len(sources)} base source(s): '
            f'{[s["path"] for s in sources]}')
    for s, p in zip(sources, paths):
        # A path the user gives is vouched for: only the fingerprint counts.
        s.update(path=p, sha256=None)
    return sources


def _locate(path: str, near: Optional[str]) -> str:
    """``path``, or the frozen-base file of the same name next to the delta
    checkpoint ``near`` when ``path`` is gone (a work dir copied
    elsewhere). Only content-addressed names are looked up: another file
    of a pre-trained file's name (``iter_300.pth``) is unrelated."""
    if ('://' in path or osp.isfile(path) or not near or '://' in near
            or not osp.basename(path).startswith('frozen_base-')):
        return path
    moved = osp.join(osp.dirname(osp.abspath(near)), osp.basename(path))
    if osp.isfile(moved):
        print_log(f'base checkpoint {path} not found; using {moved} next '
                  'to the delta checkpoint', logger='current')
        return moved
    return path


@dataclass
class DeltaLoadReport:
    """What loading a delta checkpoint took from where.

    Attributes:
        filename (str): The delta checkpoint.
        delta_tensors (int): Model tensors (parameters and buffers) the delta
            holds.
        delta_params (int): Values of the parameters among them.
        bases (list[tuple[str, int]]): Each base source as it is shown
            (``base <path>`` for a whole model, ``pretrained <path> into
            <module>`` for an ``init_cfg``)
            with the number of model tensors it set that the delta does not
            overwrite.
        missing (list[str]): Model tensors in neither the delta nor a base;
            they keep their initial values.
        unexpected (list[str]): Delta tensors the model does not have.
    """
    filename: str
    delta_tensors: int = 0
    delta_params: int = 0
    bases: List[tuple] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)

    def line(self) -> str:
        """The one log line replacing mmengine's missing-keys warning."""
        bases = ', '.join(f'{n:,} tensors from {label}'
                          for label, n in self.bases)
        text = (f'loaded delta checkpoint {self.filename}: '
                f'{self.delta_tensors:,} tensors ({self.delta_params:,} '
                f'params) from the delta, {bases}')
        if self.missing:
            text += (f'; {len(self.missing)} tensor(s) in neither the delta '
                     'nor its base keep their initial values: '
                     + ', '.join(self.missing))
        if self.unexpected:
            text += (f'; {len(self.unexpected)} tensor(s) of the delta are '
                     'not in the model: ' + ', '.join(self.unexpected))
        return text

    def log(self, logger='current') -> None:
        """Print :meth:`line`: INFO, or WARNING when a tensor is missing or
        unexpected."""
        bad = self.missing or self.unexpected
        print_log(self.line(), logger=logger,
                  level=logging.WARNING if bad else logging.INFO)


def _strip_module(state: Mapping[str, torch.Tensor]) -> Dict:
    """Keys without DDP's ``module.`` prefix, as mmengine's loaders read
    them (``revise_keys``)."""
    return {re.sub(r'^module\.', '', k): v for k, v in state.items()}


def _source_label(source: dict, path: str) -> str:
    if not source['target'] and source['prefix'] is None:
        return f'base {path}'  # a frozen-base file or load_from
    where = f' (prefix {source["prefix"]})' if source['prefix'] else ''
    into = f' into {source["target"]}' if source['target'] else ''
    return f'pretrained {path}{where}{into}'


def _load_quietly(module: nn.Module, state: Mapping[str, torch.Tensor],
                  path: str, is_base: bool = True) -> Set[str]:
    """Load ``state`` into ``module`` without mmengine's missing-keys
    warning (a base misses every trained tensor by design).

    Returns:
        set[str]: The names of ``module``'s tensors that ``state`` set.

    Raises:
        WrongBaseCheckpointError: (``RuntimeError`` for the delta itself) a
            tensor of ``state`` has another shape than the model's, after
            the load pre-hooks resized what they resize (position
            embeddings).
    """
    try:
        missing, _ = module.load_state_dict(state, strict=False)
    except RuntimeError as e:
        what = 'base' if is_base else 'delta'
        error = WrongBaseCheckpointError if is_base else RuntimeError
        raise error(f'{what} checkpoint {path} does not fit the model: '
                    f'{e}') from e
    return set(module.state_dict()) - set(missing)


def _load_source(model: nn.Module, source: dict, path: str) -> Set[str]:
    """Load one base source as training did (the ``init_cfg`` ``Pretrained``
    rules: the ``state_dict`` entry, ``prefix`` stripped, DDP's ``module.``
    removed) and return the model tensors it set."""
    if not source['target'] and source['prefix'] is None:
        checkpoint = CheckpointLoader.load_checkpoint(path, 'cpu')
        if is_delta(checkpoint):  # a whole-model source may be a delta
            merge_base(model, checkpoint, near=path)
        state = _strip_module(checkpoint.get('state_dict', checkpoint))
        return _load_quietly(model, state, path)
    module = model.get_submodule(source['target'])
    if source['prefix']:
        state = _load_checkpoint_with_prefix(source['prefix'], path, 'cpu')
    else:
        checkpoint = CheckpointLoader.load_checkpoint(path, 'cpu')
        state = _strip_module(checkpoint.get('state_dict', checkpoint))
    prefix = source['target'] + '.' if source['target'] else ''
    return {prefix + k for k in _load_quietly(module, state, path)}


def load_base(model: nn.Module, checkpoint: dict,
              base_checkpoint: BaseOverride = None,
              near: Optional[str] = None) -> List[tuple]:
    """Load the base of a delta ``checkpoint`` into ``model`` and verify it.

    Args:
        base_checkpoint (str | list[str], optional): Paths replacing the
            recorded ones.
        near (str, optional): The delta checkpoint's path: a recorded base
            that no longer exists is looked for in its folder.

    Returns:
        list[tuple[str, set[str]]]: Each source's label (see
        :class:`DeltaLoadReport`) and the model tensors it set, in the order
        they were applied.

    Raises:
        MissingBaseCheckpointError: The base checkpoint is missing (a
            ``FileNotFoundError``).
        BaseFileChangedError: A recorded pre-trained file's bytes changed.
        WrongBaseCheckpointError: The model's frozen weights after loading
            the base do not match the fingerprint the delta was trained
            with (a ``ValueError``).
    """
    record = checkpoint['meta'][DELTA_KEY]
    sources = _resolve_sources(record, base_checkpoint)
    hint = ('pass the base with `--base-checkpoint PATH` (tools/test.py) or '
            '`base_checkpoint=PATH` (mmmae.apis.init_model)')
    if not sources:
        raise MissingBaseCheckpointError(
            f'this delta checkpoint records no base checkpoint; {hint}')
    loaded = []
    for s in sources:
        path = _locate(s['path'], near)
        from .model_zoo import is_model_name  # model_zoo imports this
        if ('://' not in path and not osp.isfile(path)
                and not is_model_name(path)):  # a zoo name: fetched
            sha = (f', sha256 {s["sha256"][:12]}'
                   if s.get('sha256') else '')
            raise MissingBaseCheckpointError(
                f'delta checkpoint needs its base checkpoint "{path}" '
                f'(frozen-weight fingerprint {record["fingerprint"][:12]}'
                f'{sha}), which does not exist; {hint}')
        if s.get('sha256') and '://' not in path:
            got = file_sha256(path)
            if got != s['sha256']:
                raise BaseFileChangedError(
                    f'base checkpoint {path} changed since the delta '
                    f'checkpoint was trained on it: its sha256 is now '
                    f'{got[:12]}, recorded {s["sha256"][:12]}. Restore the '
                    'original file; if the new file holds the same frozen '
                    'weights, pass it explicitly (the frozen-weight '
                    f'fingerprint is still checked): {hint}')
        loaded.append((_source_label(s, path), _load_source(model, s, path)))
    got = fingerprint(model)
    if got != record['fingerprint']:
        raise WrongBaseCheckpointError(
            'wrong base checkpoint for this delta checkpoint: the frozen '
            f'weights loaded from {[s["path"] for s in sources]} have '
            f'fingerprint {got[:12]}, the delta was trained on '
            f'{record["fingerprint"][:12]} ({record["num_frozen"]} frozen '
            f'tensors, {record["frozen_numel"]} values); {hint}')
    return loaded


def _report(model: nn.Module, filename: str, delta: Mapping,
            loaded: List[tuple]) -> DeltaLoadReport:
    """Count what the delta and each base set (a tensor set by several
    counts for the last one: the delta, then the latest base)."""
    params = dict(model.named_parameters())
    model_keys = [k for k in model.state_dict()
                  if not k.endswith('num_batches_tracked')]
    delta = set(_strip_module(delta))
    known = set(model_keys)
    report = DeltaLoadReport(filename=filename)
    report.delta_tensors = len(delta & known)
    report.delta_params = sum(params[k].numel() for k in delta & known
                              if k in params)
    taken = set(delta)
    for label, keys in reversed(loaded):
        own = (keys & known) - taken
        taken |= own
        report.bases.insert(0, (label, len(own)))
    report.missing = [k for k in model_keys if k not in taken]
    report.unexpected = sorted(delta - known)
    return report


def merge_base(model: nn.Module, checkpoint: dict,
               base_checkpoint: BaseOverride = None,
               near: Optional[str] = None) -> DeltaLoadReport:
    """Load and verify the base, then complete ``checkpoint['state_dict']``.

    After this the checkpoint holds every parameter, so mmengine's loaders
    report no missing keys for the frozen part.

    Returns:
        DeltaLoadReport: what came from the delta and from each base; log it
        with :meth:`DeltaLoadReport.log`.
    """
    delta = checkpoint['state_dict']
    loaded = load_base(model, checkpoint, base_checkpoint, near)
    report = _report(model, near or '<checkpoint>', delta, loaded)
    params = dict(model.named_parameters())
    merged = type(delta)((n, params[n].detach())
                         for n in frozen_parameter_names(model))
    merged.update(delta)
    checkpoint['state_dict'] = merged
    return report


def load_checkpoint(model: nn.Module,
                    filename: str,
                    base_checkpoint: BaseOverride = None,
                    map_location='cpu',
                    strict: bool = False,
                    logger='current',
                    check_model: bool = True) -> dict:
    """Load a full or a delta checkpoint (base first) into ``model``.

    A delta logs one :class:`DeltaLoadReport` line instead of mmengine's
    missing-keys warning; a full checkpoint loads as with mmengine.

    Args:
        filename (str): Checkpoint path or URL.
        base_checkpoint (str | list[str], optional): Base checkpoint path(s)
            replacing the ones a delta checkpoint recorded.
        check_model (bool): Refuse a checkpoint of another model
            (:func:`mmmae.utils.model_identity.check_model_checkpoint`).
            Defaults to True.
    """
    checkpoint = CheckpointLoader.load_checkpoint(filename, map_location)
    if check_model:
        check_model_checkpoint(model, checkpoint, filename,
                               frozen_from_base=is_delta(checkpoint))
    state = _strip_module(checkpoint.get('state_dict', checkpoint))
    if not is_delta(checkpoint):
        load_state_dict(model, state, strict=strict, logger=logger)
        return checkpoint
    checkpoint['state_dict'] = state
    report = merge_base(model, checkpoint, base_checkpoint, near=filename)
    if strict and (report.missing or report.unexpected):
        raise RuntimeError(report.line())
    report.log(logger)
    _load_quietly(model, checkpoint['state_dict'], filename, is_base=False)
    return checkpoint


def add_delta_loading(cfg, base_checkpoint: BaseOverride = None) -> None:
    """Make a Runner built from ``cfg`` load delta checkpoints.

    ``tools/test.py`` calls this after reading its config: it adds a
    ``DeltaCheckpointHook`` when the config has none, and passes the
    ``--base-checkpoint`` override to it.
    """
    hooks = list(cfg.get('custom_hooks', None) or [])
    found = [h for h in hooks
             if str(h.get('type', '')).split('.')[-1] == 'DeltaCheckpointHook']
    if not found:
        hooks.append(dict(type='DeltaCheckpointHook'))
        found = hooks[-1:]
    if base_checkpoint is not None:
        for h in found:
            h['base_checkpoint'] = base_checkpoint
    cfg['custom_hooks'] = hooks
