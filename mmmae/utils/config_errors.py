"""Clear errors for the two config mistakes users make most.

* A config path that does not exist: :func:`load_config` names it and the
  closest existing config files.
* An unknown ``type``: mmengine raises ``KeyError('X is not in the
  mmmae::model registry ...')``, raised late (datasets build when training
  starts) and without the config key or any hint. :func:`explain_registry_errors`
  re-raises it as :class:`UnknownTypeError` naming the registry, the config
  keys that hold the type, and the closest registered names (difflib), scope
  prefixes included (``mmseg.IoUMetric``).
* A key nothing reads (``tain_cfg``, ``max_keep_ckpt``): :func:`load_config`
  and :func:`build_runner` raise :class:`ConfigKeyError` before anything is
  built (the checks are in ``config_check.py``).

Nothing global is patched; the tools wrap their Runner calls.
"""
import difflib
import glob
import logging
import os.path as osp
import re
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence

import mmengine.registry as mm_registry
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import Registry

_UNKNOWN_TYPE = re.compile(
    r'(?P<type>\S+) is not in the (?:(?P<scope>[\w.-]+)::)?'
    r'(?P<registry>[\w ]+?) registry')


class ConfigNotFoundError(FileNotFoundError):
    """The config file given on the command line does not exist."""


class UnknownTypeError(KeyError):
    """A config names a ``type`` that no registry in reach holds.

    Subclasses KeyError (what mmengine raises) so callers that catch that
    still do; ``str()`` gives the message without KeyError's quotes.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


class ConfigKeyError(KeyError):
    """Config keys that nothing reads (typos mmengine would ignore or trip
    over late); ``problems`` holds one message per key, each naming the
    dotted key and the closest valid names."""

    def __init__(self, problems: Sequence[str], filename: str = ''):
        self.problems = list(problems)
        self.filename = filename
        where = f'{filename}: ' if filename else ''
        if len(self.problems) == 1:
            msg = where + self.problems[0]
        else:
            msg = (f'{where}{len(self.problems)} config keys nothing reads:'
                   + ''.join(f'\n  - {p}' for p in self.problems))
        super().__init__(msg)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ''


def _raise_key_errors(problems: Sequence[str], cfg) -> None:
    if problems:
        raise ConfigKeyError(problems, getattr(cfg, 'filename', None) or '')


def _close_files(path: str, limit: int = 5) -> List[str]:
    """Existing .py configs whose names are closest to ``path``."""
    here = osp.dirname(path) or '.'
    pool = glob.glob(osp.join(here, '*.py'))
    if not pool:
        pool = glob.glob(osp.join('configs', '**', '*.py'), recursive=True)
    by_name = {osp.basename(p): p for p in pool}
    names = difflib.get_close_matches(
        osp.basename(path), list(by_name), n=limit, cutoff=0.5)
    return [by_name[n] for n in names]


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """``Config.fromfile`` with a clear error for a missing file.

    Args:
        path (str): config file.
        cfg_options (dict, optional): ``--cfg-options`` to merge.

    Raises:
        ConfigNotFoundError: ``path`` is missing; the message names it and
            the closest existing configs.
        ConfigKeyError: a top-level key of the file looks like a typo of a
            known key, or a ``cfg_options`` key is at a top level that
            neither the config nor mmengine knows.
    """
    from .config_check import (check_file_keys, check_option_keys,
                               ineffective_options)
    if not osp.isfile(path):
        close = _close_files(path)
        hint = (' Did you mean: ' + ', '.join(close) + '?') if close else ''
        raise ConfigNotFoundError(f'config file not found: "{path}".{hint}')
    try:
        cfg = Config.fromfile(path)
    except FileNotFoundError as e:
        missing = getattr(e, 'filename', None)
        if not missing or osp.abspath(missing) == osp.abspath(path):
            raise
        # A _base_ file (mmengine names it but not who asked for it).
        raise ConfigNotFoundError(
            f'config file not found: "{missing}", inherited through _base_ '
            f'by "{path}"') from e
    problems = check_file_keys(cfg)
    if cfg_options:
        problems += check_option_keys(cfg, cfg_options)
        for key in ineffective_options(cfg, cfg_options):
            print_log(
                f'--cfg-options {key} only changes the top-level variable: '
                'the config already put its old value where it refers to '
                'it (e.g. in a dataset); override those keys instead',
                logger='current',
                level=logging.WARNING)
    _raise_key_errors(problems, cfg)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def _root_registry(name: str) -> Optional[Registry]:
    for obj in vars(mm_registry).values():
        if isinstance(obj, Registry) and obj.name == name and \
                obj.parent is None:
            return obj
    return None


def _names(registry: Registry, prefix: str = '') -> List[str]:
    try:
        registry.import_from_location()
    except Exception:  # a sibling that fails to import gives no hints
        pass
    return [prefix + key for key in registry.module_dict]


def candidate_names(scope: Optional[str], registry_name: str) -> List[str]:
    """Every name a config may use for ``type`` from ``scope``: the scope's
    own, its parent's (mmengine), and the other scopes' with prefix."""
    root = _root_registry(registry_name)
    if root is None:
        return []
    names = _names(root)
    for child_scope, child in root.children.items():
        prefix = '' if child_scope == scope else f'{child_scope}.'
        names += _names(child, prefix)
    return sorted(set(names))


def closest_names(obj_type: str,
                  names: Sequence[str],
                  limit: int = 5) -> List[str]:
    """Registered names closest to ``obj_type``, case-insensitively; an
    unprefixed guess also matches prefixed names (``IoUMetric`` ->
    ``mmseg.IoUMetric``)."""
    keys = {}
    for name in names:
        keys.setdefault(name.lower(), name)
        keys.setdefault(name.split('.')[-1].lower(), name)
    found = []
    for cutoff in (0.75, 0.5):
        for key in difflib.get_close_matches(
                obj_type.lower(), list(keys), n=limit * 2, cutoff=cutoff):
            if keys[key] not in found:
                found.append(keys[key])
        if found:
            break
    return found[:limit]


def _keys_with_type(cfg, obj_type: str, prefix: str = '') -> List[str]:
    """Dotted config keys whose ``type`` is ``obj_type``."""
    hits = []
    if isinstance(cfg, dict):
        if cfg.get('type') == obj_type:
            hits.append(f'{prefix}type' if prefix else 'type')
        for key, value in cfg.items():
            hits += _keys_with_type(value, obj_type, f'{prefix}{key}.')
    elif isinstance(cfg, (list, tuple)):
        for i, value in enumerate(cfg):
            hits += _keys_with_type(value, obj_type, f'{prefix}{i}.')
    return hits


# mmmae names that used to collide with mmseg's / mmpretrain's registered
# names: a config with the old name gets this note, never another class.
RENAMED_TYPES = {
    'DPTHead': ('MultiMAEDPTHead', 'mmseg.DPTHead'),
    'SiLogLoss': ('MultiMAESiLogLoss', 'mmseg.SiLogLoss'),
    'MultiModalDataPreprocessor':
    ('MultiMAEDataPreprocessor', 'mmpretrain.MultiModalDataPreprocessor'),
    'RandomGrayscale':
    ('MultiModalRandomGrayscale', 'mmpretrain.RandomGrayscale'),
}


def explain_unknown_type(error: KeyError,
                         cfg=None) -> Optional[UnknownTypeError]:
    """An :class:`UnknownTypeError` for mmengine's registry KeyError, or
    None when ``error`` is some other KeyError."""
    text = error.args[0] if error.args and isinstance(error.args[0],
                                                      str) else str(error)
    match = _UNKNOWN_TYPE.search(text)
    if match is None:
        return None
    obj_type, scope = match.group('type'), match.group('scope')
    registry_name = match.group('registry')
    where = f'{scope}::{registry_name}' if scope else registry_name
    close = closest_names(obj_type, candidate_names(scope, registry_name))
    msg = f'unknown type "{obj_type}" in the {where} registry'
    keys = _keys_with_type(dict(cfg), obj_type) if cfg is not None else []
    if keys:
        msg += f' (config key: {", ".join(keys)})'
    if obj_type in RENAMED_TYPES:
        new, other = RENAMED_TYPES[obj_type]
        return UnknownTypeError(
            f'{msg}. mmmae\'s "{obj_type}" was renamed "{new}" so that it '
            f'never shadows "{other}"; use "{new}" for mmmae\'s class or '
            f'"{other}" for the other library\'s')
    msg += ('. Closest registered names: ' + ', '.join(close)
            if close else '. No registered name is close')
    msg += ('. A type from your own package must be imported first: add '
            "custom_imports=dict(imports=['your_pkg']) to the config.")
    return UnknownTypeError(msg)


@contextmanager
def explain_registry_errors(cfg=None) -> Iterator[None]:
    """Re-raise mmengine's unknown-type KeyError as :class:`UnknownTypeError`
    with suggestions; every other exception passes through unchanged.

    Args:
        cfg (Config, optional): the config, to name the offending key.
    """
    try:
        yield
    except UnknownTypeError:
        raise
    except KeyError as e:
        better = explain_unknown_type(e, cfg)
        if better is None:
            raise
        raise better from e


def build_runner(cfg: Config):
    """Build the Runner (or ``cfg.runner_type``) as mmseg's tools do, with
    unknown types explained.

    Raises:
        ConfigKeyError: a key inside a section the Runner builds is not an
            argument of the class it builds; raised before the model.
    """
    from mmengine.runner import Runner

    from mmmae.registry import RUNNERS

    from .config_check import check_sections
    from .vis_backends import resolve_vis_backends
    resolve_vis_backends(cfg)  # vis_backends and tracker snippets
    _raise_key_errors(check_sections(cfg), cfg)
    with explain_registry_errors(cfg):
        if 'runner_type' not in cfg:
            return Runner.from_cfg(cfg)
        return RUNNERS.build(cfg)
