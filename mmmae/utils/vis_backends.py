"""One list of visualizer backends per config, however it was written.

``configs/_base_/default_runtime.py`` defines ``vis_backends`` (the local
files) and hands that list to ``visualizer.vis_backends``. mmengine copies
the value when the base is read, so a leaf that later sets ``vis_backends``,
or ``--cfg-options vis_backends=...``, changed nothing the Runner reads.
:func:`resolve_vis_backends` makes the Runner see what the config says:

* ``vis_backends`` and ``visualizer.vis_backends`` differ: the one that
  still holds the default (:data:`DEFAULT_VIS_BACKENDS`) was not touched, so
  the other one wins; both changed and different is an error naming both.
* Every top-level key ending in ``_vis_backend`` (``tensorboard_vis_backend``
  from ``configs/_base_/vis_backends/tensorboard.py`` ...) adds its backend
  after the list; ``None`` switches one off. mmengine refuses a key defined
  by two sibling ``_base_`` files and replaces lists rather than appending,
  so one distinct key per tracker is what lets snippets combine.

Afterwards ``vis_backends`` and ``visualizer.vis_backends`` hold the same
final list and the ``*_vis_backend`` keys are gone, so a second call (or the
work dir's dumped config) gives the same result. ``build_runner`` calls it.
"""
from typing import Any, List

from .config_errors import ConfigKeyError

DEFAULT_VIS_BACKENDS = [dict(type='LocalVisBackend')]
EXTRA_SUFFIX = '_vis_backend'


def _plain(value: Any) -> Any:
    """ConfigDict/tuple -> dict/list, for comparing config values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _name(backend: dict) -> str:
    # mmengine's Visualizer names a backend by `name`, else by its type.
    return backend.get('name', backend.get('type'))


def _base_list(cfg) -> List[dict]:
    top = cfg.get('vis_backends')
    visualizer = cfg.get('visualizer')
    inner = visualizer.get('vis_backends') if visualizer else None
    if top is None or inner is None:
        return _plain(top if inner is None else inner) or []
    top, inner = _plain(top), _plain(inner)
    if top == inner or top == DEFAULT_VIS_BACKENDS:
        return inner
    if inner == DEFAULT_VIS_BACKENDS:
        return top
    raise ConfigKeyError([
        f'vis_backends = {top} and visualizer.vis_backends = {inner} both '
        'differ from the default and from each other: set only the '
        'top-level vis_backends (the visualizer takes it), or add a '
        'tracker with a configs/_base_/vis_backends/ snippet'
    ], getattr(cfg, 'filename', None) or '')


def resolve_vis_backends(cfg) -> List[dict]:
    """Put the config's final backend list into ``visualizer.vis_backends``.

    Args:
        cfg (Config): the run's config, changed in place.

    Returns:
        list[dict]: the backends the visualizer will build.

    Raises:
        ConfigKeyError: ``vis_backends`` and ``visualizer.vis_backends``
            were both changed to different lists; a ``*_vis_backend`` value
            is neither a dict with ``type`` nor None; two backends share a
            name; a tracker is added to a config without a visualizer.
    """
    filename = getattr(cfg, 'filename', None) or ''
    extra_keys = sorted(k for k in cfg.keys() if k.endswith(EXTRA_SUFFIX))
    backends = _base_list(cfg)
    problems = []
    for key in extra_keys:
        value = _plain(cfg[key])
        if value is None:
            continue
        if not isinstance(value, dict) or 'type' not in value:
            problems.append(f"{key} must be a dict with a 'type' (a "
                            f'visualizer backend) or None, got {value!r}')
        elif value not in backends:
            backends.append(value)
    seen = {}
    for backend in backends:
        name = _name(backend)
        if name in seen:
            problems.append(
                f'two visualizer backends are named "{name}": {seen[name]} '
                f"and {backend}; give one a distinct 'name'")
        seen[name] = backend
    if cfg.get('visualizer') is None and any(
            cfg[k] is not None for k in extra_keys):
        problems.append(f'{", ".join(extra_keys)} add(s) a backend but the '
                        'config has no visualizer')
    if problems:
        raise ConfigKeyError(problems, filename)
    for key in extra_keys:
        cfg.pop(key)
    if cfg.get('visualizer') is not None:
        cfg.visualizer.vis_backends = backends
    if 'vis_backends' in cfg:
        cfg.vis_backends = backends
    return backends
