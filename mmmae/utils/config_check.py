"""Reject config keys that nothing reads, before anything is built.

mmengine reads the keys it knows and silently ignores the others, so a typo
either does nothing (``tain_cfg.max_iters=4`` runs the full schedule) or
fails late (``default_hooks.checkpoint.max_keep_ckpt=1`` reaches
``Runner.save_checkpoint`` at the first save). Three checks, each returning
messages that name the dotted key and the closest valid names (difflib):

* :func:`check_file_keys`, top level of a config file: a Python config
  legitimately has helper variables (``crop_size``, ``train_pipeline``,
  ``_data``), so a key is an error only when it is not known (read by the
  Runner, by mmengine's or mmmae's tools, or a conventional helper), no file
  of the config (``_base_`` chain included) uses it, AND it is close
  (difflib ratio >= 0.8) to a known key: ``tain_cfg = dict(...)``.
* :func:`check_option_keys`, top level of ``--cfg-options``: a key that the
  loaded config does not have and that is not known is an error.
* :func:`check_sections`, inside the sections the Runner builds: each dict
  is checked against the signature of the class it builds, found through
  the registries with the config's scope (``mmseg.X`` prefixes included).
  A class whose ``**kwargs`` go to its parent's ``__init__`` is followed up
  its MRO; one whose ``**kwargs`` go elsewhere is skipped, except
  ``CheckpointHook``, whose ``**kwargs`` go to ``Runner.save_checkpoint``.
  Keys read from a plain dict (``env_cfg``, ``paramwise_cfg``,
  ``auto_scale_lr``) are the string keys its reader's source looks up.
"""
import ast
import difflib
import inspect
import logging
import os.path as osp
import re
import textwrap
from functools import lru_cache
from typing import (Callable, Dict, FrozenSet, Iterable, List, Optional,
                    Sequence, Set)

CLOSE = 0.8  # a top-level file key this close to a known one is a typo
_SUGGEST = 0.6  # cutoff for "did you mean" once a key is known to be wrong

# Top-level keys read outside the Runner: mmengine's tools, tools/test.py
# (--tta), mmmae.apis (test_pipeline), FlexibleRunner.
TOOL_KEYS = frozenset({
    'custom_imports', 'runner_type', 'tta_model', 'tta_pipeline',
    'test_pipeline', 'default_scope', 'launcher', 'work_dir', 'strategy',
    'compile'
})
# Conventional helper variables of OpenMMLab configs: never flagged, even
# when a leaf has overridden everything that used them.
HELPER_KEYS = frozenset({
    'train_pipeline', 'val_pipeline', 'test_pipeline', 'dataset_type',
    'data_root', 'backend_args', 'crop_size', 'img_scale', 'vis_backends',
    'norm_cfg', 'optimizer', 'max_iters', 'max_epochs'
})
# The hooks Runner.register_default_hooks fills in by name.
DEFAULT_HOOK_NAMES = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                      'param_scheduler', 'checkpoint')
_ANY_CFG = frozenset({'type', '_scope_'})  # every built dict may carry them


def _hint(key: str, pool: Iterable[str], cutoff: float = _SUGGEST) -> str:
    """`` (did you mean 'a'?)``: the closest names, only those nearly as
    close as the best one."""
    close = difflib.get_close_matches(key, sorted(pool), n=3, cutoff=cutoff)
    if not close:
        return ''
    best = difflib.SequenceMatcher(None, key, close[0]).ratio()
    close = [
        c for c in close
        if difflib.SequenceMatcher(None, key, c).ratio() >= best - 0.1
    ]
    return ' (did you mean ' + ' or '.join(f"'{c}'" for c in close) + '?)'


# --- what code accepts and reads ---------------------------------------


def _tail(node: ast.AST) -> Optional[str]:
    """``x`` for ``x``, ``self.x`` and ``a.b.x``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _str(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


@lru_cache(maxsize=None)
def _tree(obj) -> Optional[ast.AST]:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None


def keys_read(obj, names: Sequence[str]) -> Set[str]:
    """String keys that ``obj``'s source (a class: every class of its MRO)
    looks up in a dict named one of ``names``: ``x.get('k')``,
    ``x.pop('k')``, ``x.setdefault('k')``, ``x['k']``, ``'k' in x``."""
    sources = [c for c in getattr(obj, '__mro__', (obj, ))
               if c is not object]
    keys = set()
    for source in sources:
        tree = _tree(source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            key = None
            if (isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ('get', 'pop', 'setdefault')
                    and _tail(node.func.value) in names and node.args):
                key = _str(node.args[0])
            elif isinstance(node, ast.Subscript) and _tail(
                    node.value) in names:
                key = _str(node.slice)
            elif (isinstance(node, ast.Compare) and len(node.ops) == 1
                  and isinstance(node.ops[0], (ast.In, ast.NotIn))
                  and _tail(node.comparators[0]) in names):
                key = _str(node.left)
            if key is not None:
                keys.add(key)
    return keys


def _kwargs_use(init: Callable, var_kw: str) -> str:
    """What ``init`` does with ``**var_kw``: ``'parent'`` (passes it on to
    an ``__init__``: its parent's, through ``super()`` or by name),
    ``'unused'`` (drops it: an unknown key is silently ignored) or
    ``'other'`` (anything else, or the source is unavailable)."""
    tree = _tree(init)
    if tree is None:
        return 'other'
    reads = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == var_kw:
            reads += 1
        if (isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == '__init__'
                and any(k.arg is None and _tail(k.value) == var_kw
                        for k in node.keywords)):
            return 'parent'
    return 'other' if reads else 'unused'


def _named_params(sig: inspect.Signature) -> Set[str]:
    return {
        n
        for n, p in sig.parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n != 'self'
    }


def _var_kw(sig: inspect.Signature) -> Optional[str]:
    return next((n for n, p in sig.parameters.items()
                 if p.kind is p.VAR_KEYWORD), None)


def _checkpoint_hook_extras() -> Optional[Set[str]]:
    """``CheckpointHook(**kwargs)`` goes to ``runner.save_checkpoint``,
    which it already calls with every argument mmengine's takes; a runner
    that takes more accepts those. None: any (it takes ``**kwargs``)."""
    from mmengine.runner import Runner
    sig = inspect.signature(_runner_cls().save_checkpoint)
    if _var_kw(sig):
        return None
    return _named_params(sig) - _named_params(
        inspect.signature(Runner.save_checkpoint))


def _kwargs_sinks() -> Dict[type, Callable[[], Optional[Set[str]]]]:
    from mmengine.hooks import CheckpointHook
    return {CheckpointHook: _checkpoint_hook_extras}


def _strict_kwargs() -> tuple:
    """Classes whose ``__init__(*args, **kwargs)`` rejects any keyword."""
    import torch.nn as nn
    return (nn.Module, )


def accepted_args(obj) -> Optional[FrozenSet[str]]:
    """Keyword names a config may give ``obj`` (a class or function), or
    None when it takes any (``**kwargs`` that go somewhere unknown)."""
    if not inspect.isclass(obj):
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            return None
        return None if _var_kw(sig) else frozenset(_named_params(sig))
    names: Set[str] = set()
    sinks = _kwargs_sinks()
    for klass in obj.__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        if klass is object:
            break
        try:
            sig = inspect.signature(init)
        except (TypeError, ValueError):
            return None
        names |= _named_params(sig)
        var_kw = _var_kw(sig)
        if var_kw is None or klass in _strict_kwargs():
            break
        if klass in sinks:
            extra = sinks[klass]()
            return None if extra is None else frozenset(names | extra)
        use = _kwargs_use(init, var_kw)
        if use == 'unused':
            break
        if use == 'other':
            return None
    return frozenset(names)


def _runner_cls(cfg=None):
    """The Runner class ``cfg`` builds (``runner_type`` or mmengine's)."""
    from mmengine.runner import Runner
    runner_type = cfg.get('runner_type') if cfg is not None else None
    if runner_type is None:
        return Runner
    if not isinstance(runner_type, str):
        return runner_type
    from mmmae.registry import RUNNERS
    try:
        with RUNNERS.switch_scope_and_registry(
                cfg.get('default_scope')) as registry:
            return registry.get(runner_type) or Runner
    except Exception:  # an unknown runner_type is reported when built
        return Runner


def known_top_level_keys(cfg=None) -> FrozenSet[str]:
    """Top-level keys with a meaning: what the Runner reads from its config
    and takes as arguments, :data:`TOOL_KEYS` and :data:`HELPER_KEYS`."""
    runner = _runner_cls(cfg)
    keys = keys_read(runner, ('cfg', ))
    keys |= _named_params(inspect.signature(runner.__init__)) - {'cfg'}
    return frozenset(keys | TOOL_KEYS | HELPER_KEYS)


# --- top level -----------------------------------------------------------


def _base_files(path: str) -> List[str]:
    """``path`` and the local files it inherits through ``_base_``."""
    found, todo = [], [osp.abspath(path)]
    while todo:
        current = todo.pop()
        if current in found or not osp.isfile(current):
            continue
        found.append(current)
        tree = _parse_file(current)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                    _tail(t) == '_base_' for t in node.targets):
                values = node.value.elts if isinstance(
                    node.value, (ast.List, ast.Tuple)) else [node.value]
                for value in values:
                    base = _str(value)
                    if base and '::' not in base:  # skip package bases
                        todo.append(
                            osp.abspath(
                                osp.join(osp.dirname(current), base)))
    return found


def _parse_file(path: str) -> Optional[ast.AST]:
    try:
        with open(path, encoding='utf-8') as f:
            return ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return None


def _used_names(path: str) -> Set[str]:
    """Names a config file reads: variables, ``_base_.x`` and
    ``{{_base_.x}}`` references."""
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except OSError:
        return set()
    used = set(re.findall(r'_base_\.([A-Za-z_]\w*)', text))
    tree = _parse_file(path)
    if tree is None:  # not python: any name written twice counts as used
        words = re.findall(r'[A-Za-z_]\w*', text)
        return used | {w for w in words if words.count(w) > 1}
    return used | {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def config_used_names(cfg) -> Set[str]:
    """Names read by any file of ``cfg`` (its ``_base_`` chain)."""
    filename = getattr(cfg, 'filename', None)
    if not filename:
        return set()
    used: Set[str] = set()
    for path in _base_files(filename):
        used |= _used_names(path)
    return used


def check_file_keys(cfg) -> List[str]:
    """Top-level keys of a config file that look like typos of known keys
    (see the module docstring)."""
    known = known_top_level_keys(cfg)
    used = None
    problems = []
    for key in cfg.keys():
        if key in known or key.startswith('_'):
            continue
        if not difflib.get_close_matches(key, known, n=1, cutoff=CLOSE):
            continue
        used = config_used_names(cfg) if used is None else used
        if key not in used:
            problems.append(f"unknown config key '{key}'"
                            f'{_hint(key, known, CLOSE)}')
    return problems


def check_option_keys(cfg, options: Dict[str, object]) -> List[str]:
    """Top-level keys of ``--cfg-options`` that ``cfg`` (before merging)
    does not have and that are not known; a helper the config lacks counts
    as unknown: setting it would reach nothing (``optimizer.lr=...``)."""
    known = known_top_level_keys(cfg) - HELPER_KEYS | TOOL_KEYS
    problems = []
    for dotted in options:
        top = str(dotted).split('.')[0]
        # A tracker added from the command line (mmmae.utils.vis_backends).
        if top in cfg or top in known or top.endswith('_vis_backend'):
            continue
        problems.append(f"unknown config key '{top}'"
                        f'{_hint(top, known | set(cfg.keys()))} '
                        f'(--cfg-options {dotted})')
    return problems


def ineffective_options(cfg, options: Dict[str, object]) -> List[str]:
    """``--cfg-options`` keys that set a top-level helper other parts of the
    config already read (``data_root=...``): the override reaches nothing."""
    runner_keys = known_top_level_keys(cfg) - HELPER_KEYS | TOOL_KEYS
    used = None
    found = []
    for dotted in options:
        top = str(dotted).split('.')[0]
        # build_runner re-reads vis_backends (mmmae.utils.vis_backends).
        if top in runner_keys or top not in cfg or top == 'vis_backends':
            continue
        used = config_used_names(cfg) if used is None else used
        if top in used:
            found.append(str(dotted))
    return found


# --- sections the Runner builds -------------------------------------------


class _SectionChecker:
    """Walks the Runner's sections of one config and collects problems."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.scope = cfg.get('default_scope')
        self.runner = _runner_cls(cfg)
        self.problems: List[str] = []

    def resolve(self, registry, obj_type, scope=None):
        """The class or function ``obj_type`` names, or None."""
        if not isinstance(obj_type, str):
            return obj_type if callable(obj_type) else None
        try:
            with registry.switch_scope_and_registry(scope or
                                                    self.scope) as reg:
                return reg.get(obj_type)
        except Exception:  # unknown types are explained when built
            return None

    def args(self, path: str, cfg: dict, obj, extra=(), name=None) -> None:
        """Every key of ``cfg`` must be an argument of ``obj`` (called
        ``name`` in messages: the config's ``type``)."""
        allowed = accepted_args(obj)
        if allowed is None:
            return
        allowed = allowed | set(extra)
        name = name or getattr(obj, '__qualname__', None) or str(obj)
        for key in cfg:
            if isinstance(key, str) and key not in allowed \
                    and key not in _ANY_CFG:
                self.problems.append(f'{path}.{key} is not an argument of '
                                     f'{name}{_hint(key, allowed)}')

    def keys(self, path: str, cfg: dict, allowed: Set[str], reader: str):
        """Every key of a plain dict must be one its reader looks up."""
        if not allowed:
            return
        for key in cfg:
            if isinstance(key, str) and key not in allowed:
                self.problems.append(f'{path}.{key} is not a key {reader} '
                                     f'reads{_hint(key, allowed)}')

    def built(self, path, cfg, registry, default_type=None, extra=()):
        """Check a dict built from ``registry``; return its class."""
        if not isinstance(cfg, dict):
            return None
        obj_type = cfg.get('type', default_type)
        obj = self.resolve(registry, obj_type, cfg.get('_scope_'))
        if obj is not None:
            # The name the config used: 'CheckpointHook' may be mmmae's
            # subclass registered under that name.
            self.args(path, cfg, obj, extra,
                      obj_type if isinstance(obj_type, str) else None)
        return obj

    def section(self, key):
        value = self.cfg.get(key)
        return value if isinstance(value, dict) else None

    # One method per Runner section.
    def loops(self):
        from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop,
                                     TestLoop, ValLoop)

        from mmmae.registry import LOOPS
        for key, plain in (('train_cfg', None), ('val_cfg', ValLoop),
                           ('test_cfg', TestLoop)):
            cfg = self.section(key)
            if cfg is None:
                continue
            if 'type' in cfg:
                self.built(key, cfg, LOOPS)
            elif plain is not None:
                self.args(key, cfg, plain)
            elif 'by_epoch' not in cfg:
                self.problems.append(
                    f"{key} needs a 'type' (e.g. 'IterBasedTrainLoop') or "
                    f"'by_epoch'")
            else:
                loop = EpochBasedTrainLoop if cfg['by_epoch'] else \
                    IterBasedTrainLoop
                self.args(key, cfg, loop, extra=('by_epoch', ))

    def hooks(self):
        from mmmae.registry import HOOKS
        default_hooks = self.section('default_hooks') or {}
        for name, hook in default_hooks.items():
            path = f'default_hooks.{name}'
            if not isinstance(hook, dict):
                continue
            if 'type' not in hook:
                self.problems.append(
                    f"{path} has no 'type' and is not one of mmengine's "
                    f'default hooks{_hint(name, DEFAULT_HOOK_NAMES)}'
                    if name not in DEFAULT_HOOK_NAMES else
                    f"{path} has no 'type'")
                continue
            self.built(path, hook, HOOKS, extra=('priority', ))
        for i, hook in enumerate(self.cfg.get('custom_hooks') or []):
            self.built(f'custom_hooks.{i}', hook, HOOKS, extra=('priority', ))

    def optim_wrapper(self):
        from mmengine.optim import DefaultOptimWrapperConstructor

        from mmmae.registry import (OPTIM_WRAPPER_CONSTRUCTORS,
                                    OPTIM_WRAPPERS, OPTIMIZERS)
        cfg = self.section('optim_wrapper')
        if cfg is None or not isinstance(cfg.get('optimizer'), dict):
            return  # a built wrapper, or one optimizer per sub-module
        constructor = self.resolve(
            OPTIM_WRAPPER_CONSTRUCTORS,
            cfg.get('constructor', 'DefaultOptimWrapperConstructor'))
        if not (inspect.isclass(constructor) and issubclass(
                constructor, DefaultOptimWrapperConstructor)):
            return  # a constructor with its own contract
        wrapper = self.resolve(OPTIM_WRAPPERS, cfg.get('type', 'OptimWrapper'))
        if wrapper is not None:
            self.args('optim_wrapper', cfg, wrapper,
                      extra=('constructor', 'paramwise_cfg', 'optimizer'))
        self.built('optim_wrapper.optimizer', cfg['optimizer'], OPTIMIZERS)
        paramwise = cfg.get('paramwise_cfg')
        if isinstance(paramwise, dict):
            self.keys('optim_wrapper.paramwise_cfg', paramwise,
                      keys_read(constructor, ('paramwise_cfg', )),
                      constructor.__name__)

    def param_scheduler(self):
        from mmmae.registry import PARAM_SCHEDULERS

        def walk(path, value):
            if isinstance(value, dict) and 'type' in value:
                self.built(path, value, PARAM_SCHEDULERS,
                           extra=('convert_to_iter_based', ))
            elif isinstance(value, dict):  # one list per optimizer
                for name, sub in value.items():
                    walk(f'{path}.{name}', sub)
            elif isinstance(value, (list, tuple)):
                for i, sub in enumerate(value):
                    walk(f'{path}.{i}', sub)

        walk('param_scheduler', self.cfg.get('param_scheduler'))

    def runtime(self):
        from mmengine.utils.dl_utils import set_multi_processing

        from mmmae.registry import (LOG_PROCESSORS, MODEL_WRAPPERS,
                                    VISBACKENDS, VISUALIZERS)
        env_cfg = self.section('env_cfg')
        if env_cfg is not None:
            self.keys('env_cfg', env_cfg,
                      keys_read(self.runner, ('env_cfg', )),
                      f'{self.runner.__name__}.setup_env')
            if isinstance(env_cfg.get('mp_cfg'), dict):
                self.args('env_cfg.mp_cfg', env_cfg['mp_cfg'],
                          set_multi_processing)
        randomness = self.section('randomness')
        # FlexibleRunner hands randomness to its strategy's setup_env.
        if randomness is not None and hasattr(self.runner, 'set_randomness'):
            self.args('randomness', randomness, self.runner.set_randomness)
        auto_scale_lr = self.section('auto_scale_lr')
        if auto_scale_lr is not None:
            self.keys('auto_scale_lr', auto_scale_lr,
                      keys_read(self.runner, ('auto_scale_lr', )),
                      self.runner.__name__)
        self.built('log_processor', self.section('log_processor'),
                   LOG_PROCESSORS, 'LogProcessor')
        self.built('model_wrapper_cfg', self.section('model_wrapper_cfg'),
                   MODEL_WRAPPERS, 'MMDistributedDataParallel')
        visualizer = self.section('visualizer')
        self.built('visualizer', visualizer, VISUALIZERS, 'Visualizer')
        for i, backend in enumerate((visualizer or {}).get('vis_backends')
                                    or []):
            self.built(f'visualizer.vis_backends.{i}', backend, VISBACKENDS)

    def dataloaders(self):
        from torch.utils.data import DataLoader

        from mmmae.registry import DATA_SAMPLERS, FUNCTIONS
        for split in ('train', 'val', 'test'):
            path = f'{split}_dataloader'
            cfg = self.section(path)
            if cfg is None:
                continue
            # Runner.build_dataloader pops these two before DataLoader().
            self.args(path, cfg, DataLoader,
                      extra=('num_batch_per_epoch',
                             'disable_subprocess_warning'))
            for key, registry in (('sampler', DATA_SAMPLERS),
                                  ('batch_sampler', DATA_SAMPLERS),
                                  ('collate_fn', FUNCTIONS),
                                  ('worker_init_fn', FUNCTIONS)):
                self.built(f'{path}.{key}', cfg.get(key), registry)
            self.dataset(f'{path}.dataset', cfg.get('dataset'))

    def dataset(self, path, cfg):
        from mmmae.registry import DATASETS, TRANSFORMS
        if self.built(path, cfg, DATASETS) is None:
            return
        # Wrappers (ConcatDataset, RepeatDataset ...) hold datasets.
        self.dataset(f'{path}.dataset', cfg.get('dataset'))
        datasets = cfg.get('datasets')
        for i, sub in enumerate(
                datasets if isinstance(datasets, (list, tuple)) else []):
            self.dataset(f'{path}.datasets.{i}', sub)
        pipeline = cfg.get('pipeline')
        for i, transform in enumerate(
                pipeline if isinstance(pipeline, (list, tuple)) else []):
            self.built(f'{path}.pipeline.{i}', transform, TRANSFORMS)

    def evaluators(self):
        from mmmae.registry import EVALUATOR, METRICS
        for key in ('val_evaluator', 'test_evaluator'):
            value = self.cfg.get(key)
            if isinstance(value, dict) and 'metrics' in value:
                self.built(key, value, EVALUATOR, 'Evaluator')
                value = value['metrics']
                key = f'{key}.metrics'
            if isinstance(value, dict):
                self.built(key, value, METRICS)
            elif isinstance(value, (list, tuple)):
                for i, metric in enumerate(value):
                    self.built(f'{key}.{i}', metric, METRICS)


def check_sections(cfg) -> List[str]:
    """Keys inside the sections the Runner builds that their class does not
    take (see the module docstring). Needs mmmae's modules registered."""
    from mmengine.logging import print_log
    checker = _SectionChecker(cfg)
    for step in (checker.loops, checker.hooks, checker.optim_wrapper,
                 checker.param_scheduler, checker.runtime,
                 checker.dataloaders, checker.evaluators):
        try:
            step()
        except Exception as e:  # a gap in the check must not block a run
            print_log(f'config check: {step.__name__} skipped ({e!r})',
                      logger='current', level=logging.WARNING)
    return checker.problems
