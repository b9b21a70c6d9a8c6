"""Safe checkpoint loading for torch >= 2.6.

mmengine (the onedl fork included) tries ``torch.load(weights_only=True)``
and, when that fails, silently retries with ``weights_only=False``, so a
crafted file runs arbitrary code on load or resume. mmmae replaces
mmengine's local-file and http(s) loaders with strict ones:

* ``weights_only=True`` always, with an allowlist of exactly the objects an
  mmengine Runner stores in its checkpoints (found by saving Runner
  checkpoints and listing their pickle globals, see ``tests``);
* a file that needs anything else fails with :class:`UnsafeCheckpointError`,
  which names the file, the offending globals and the opt-in for trusted
  files: the environment variable ``MMMAE_TRUSTED_CHECKPOINTS`` (paths
  separated by ``os.pathsep``), :func:`trust_checkpoint` (what the
  tools' ``--trust-checkpoint`` flag calls) or ``trusted=True``. A URL is
  trusted through the path of its downloaded copy. Each opt-in
  names files; there is no switch that turns safe loading off for all;
* a truncated or corrupt file fails with :class:`CorruptCheckpointError`
  naming the file.
"""
import os
import os.path as osp
import pickle
import pickletools
from typing import IO, Any, Callable, List, Optional, Set, Tuple, Union
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner import CheckpointLoader
from torch import _weights_only_unpickler

# Local paths separated by os.pathsep (URLs: the path of the cached copy).
TRUSTED_ENV = 'MMMAE_TRUSTED_CHECKPOINTS'

# Phrases of torch's weights-only unpickler (and of _history_buffer_getattr)
# when it refuses an object, as opposed to failing on broken data.
_REFUSAL_WORDS = ('Unsupported', 'unrecognized', 'not an allowed',
                  'Can only build', 'only HistoryBuffer')

# Files (real paths) and URLs trusted by this process via trust_checkpoint.
_TRUSTED: Set[str] = set()


class UnsafeCheckpointError(pickle.UnpicklingError):
    """The checkpoint needs objects outside the allowlist to unpickle."""


class CorruptCheckpointError(RuntimeError):
    """The checkpoint file is truncated or not a torch checkpoint."""


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """The only ``getattr`` a checkpoint may call.

    mmengine's ``HistoryBuffer`` keeps its statistics methods (min, max,
    current, mean) in a dict, and pickle protocol 2 stores each as
    ``getattr(HistoryBuffer, 'min')``. Allowing the builtin ``getattr`` would
    let a file read any attribute of any allowlisted class; this stand-in
    reads only those methods.
    """
    # The class-level registry fills only when a buffer is constructed, which
    # unpickling skips: name the defaults explicitly.
    allowed = {'min', 'max', 'current', 'mean'}
    allowed.update(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'checkpoint calls getattr({obj!r}, {name!r}); only '
        'HistoryBuffer statistics methods are allowed')


def _numpy_globals() -> List[Tuple[Callable, str]]:
    """numpy objects mmengine stores (metrics and log values in the message
    hub), under both the numpy 2 (``numpy._core``) and numpy 1
    (``numpy.core``) names, so checkpoints move across numpy versions."""
    core = np._core if hasattr(np, '_core') else np.core
    entries = []
    for module in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        entries.append((core.multiarray._reconstruct,
                        f'{module}._reconstruct'))
        entries.append((core.multiarray.scalar, f'{module}.scalar'))
    entries += [(np.ndarray, 'numpy.ndarray'), (np.dtype, 'numpy.dtype')]
    # Unpickling a dtype sets its state (BUILD), which the weights-only
    # unpickler allows only for allowlisted classes: numpy >= 1.25 gives each
    # dtype its own class (numpy.dtypes.Float64DType, ...).
    for name in ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8',
                 'uint16', 'uint32', 'uint64', 'float16', 'float32',
                 'float64', 'longdouble', 'complex64', 'complex128'):
        dtype_cls = type(np.dtype(name))
        if dtype_cls is not np.dtype:
            entries.append(dtype_cls)
    return entries


def mmengine_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The allowlist for ``torch.load(weights_only=True)``.

    Returns:
        list: entries for :func:`torch.serialization.safe_globals`.
    """
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr')
            ] + _numpy_globals()


def trust_checkpoint(path: str) -> None:
    """Mark one checkpoint file (or URL) as trusted for this process, so it
    may be unpickled without the allowlist. Only for files you made or got
    from someone you trust: unpickling can run arbitrary code."""
    _TRUSTED.add(_trust_key(path))


def _trust_key(path: str) -> str:
    if urlparse(path).scheme in ('http', 'https'):
        return path
    return osp.realpath(osp.expanduser(path))


def is_trusted(path: str) -> bool:
    """Whether ``path`` was trusted by :func:`trust_checkpoint` or is listed
    in the ``MMMAE_TRUSTED_CHECKPOINTS`` environment variable."""
    key = _trust_key(path)
    listed = {
        _trust_key(p)
        for p in os.environ.get(TRUSTED_ENV, '').split(os.pathsep) if p
    }
    return key in _TRUSTED or key in listed


def _reason(error: Exception) -> str:
    """The informative line of a torch.load error (torch wraps the
    unpickler's reason in several lines of generic advice)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if 'WeightsUnpickler error' in line and i + 1 < len(lines):
            return lines[i + 1]
    reason = lines[0] if lines else ''
    return f'{type(error).__name__}: {reason}' if reason else \
        type(error).__name__


def _pickle_globals(f: IO[bytes]) -> Set[str]:
    """The globals one pickle in ``f`` imports, read statically (nothing
    is unpickled); ``f`` is left after the pickle's STOP.

    ``GLOBAL``/``INST`` name them; ``STACK_GLOBAL`` (protocol 4+) takes
    the two strings pushed before it, followed through the memo.
    """
    found, memo, pushed = set(), {}, []
    for op, arg, _ in pickletools.genops(f):
        name = op.name
        if name in ('GLOBAL', 'INST'):
            found.add(arg.replace(' ', '.'))
        elif name == 'STACK_GLOBAL':
            module, attr = ([None, None] + pushed)[-2:]
            found.add(f'{module}.{attr}')
        elif name in ('EXT1', 'EXT2', 'EXT4'):
            found.add(f'copyreg extension {arg}')
        elif name == 'STOP':
            break
        if name == 'MEMOIZE':
            memo[len(memo)] = pushed[-1] if pushed else None
        elif name in ('PUT', 'BINPUT', 'LONG_BINPUT'):
            memo[arg] = pushed[-1] if pushed else None
        elif name in ('GET', 'BINGET', 'LONG_BINGET'):
            pushed.append(memo.get(arg))
        elif op.stack_after and op.stack_after[-1] is not pickletools.markobject:
            pushed.append(arg if isinstance(arg, str) else None)
    return found


def _legacy_globals(filename: str) -> Optional[Set[str]]:
    """Globals of a legacy (non-zip) torch file: the magic-number, protocol,
    system-info and object pickles, in that order. None when the file does
    not start with torch's magic number. A pickle that breaks off keeps
    the globals read so far (a malicious file may be truncated too)."""
    found: Set[str] = set()
    with open(filename, 'rb') as f:
        try:
            first = [arg for _, arg, _ in pickletools.genops(f)]
        except Exception:
            return None
        if torch.serialization.MAGIC_NUMBER not in first:
            return None
        try:
            for _ in range(3):  # protocol version, sys info, the object
                found |= _pickle_globals(f)
        except Exception:
            pass
    return found


def _unsafe_globals(filename: str) -> Optional[List[str]]:
    """Pickle globals of ``filename`` outside the allowlist, or None when the
    file cannot be parsed at all (then it is corrupt, not unsafe)."""
    with torch.serialization.safe_globals(mmengine_safe_globals()):
        try:
            found = torch.serialization.get_unsafe_globals_in_checkpoint(
                filename)
        except Exception:
            # Not a zip archive: the legacy format (pickles, then data).
            legacy = _legacy_globals(filename)
            if legacy is None:
                return None
            allowed = set(_weights_only_unpickler._get_allowed_globals())
            allowed |= set(_weights_only_unpickler._get_user_allowed_globals())
            found = legacy - allowed
    return sorted(set(found))


def load_checkpoint_file(filename: str,
                         map_location: Any = None,
                         trusted: bool = False,
                         source: Optional[str] = None) -> Any:
    """Load a local checkpoint with ``weights_only=True`` and the allowlist.

    Args:
        filename (str): path of the file.
        map_location: as for :func:`torch.load`.
        trusted (bool): unpickle without the allowlist. Defaults to False.
        source (str, optional): what the user named (e.g. a URL whose cached
            copy ``filename`` is); used for the trust check and in errors.

    Returns:
        The loaded object (usually a dict with ``state_dict``, ``meta``...).

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: it needs globals outside the allowlist.
        CorruptCheckpointError: it is truncated or not a checkpoint.
    """
    filename = osp.expanduser(filename)
    name = source or filename
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    if trusted or is_trusted(name) or is_trusted(filename):
        print_log(
            f'Loading trusted checkpoint {name} with weights_only=False',
            logger='current')
        try:
            return torch.load(
                filename, map_location=map_location, weights_only=False)
        except Exception as e:
            raise CorruptCheckpointError(
                f'checkpoint file {name} is truncated or corrupt '
                f'({_reason(e)})') from e
    try:
        with torch.serialization.safe_globals(mmengine_safe_globals()):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        unsafe = _unsafe_globals(filename)
        refused = any(word in str(e) for word in _REFUSAL_WORDS)
        if unsafe is None or not (unsafe or refused):
            raise CorruptCheckpointError(
                f'checkpoint file {name} is truncated or corrupt '
                f'({_reason(e)})') from e
        what = ', '.join(unsafe) if unsafe else _reason(e)
        raise UnsafeCheckpointError(
            f'checkpoint file {name} cannot be loaded safely: it needs '
            f'objects outside mmmae\'s weights_only allowlist ({what}). '
            'Unpickling it could run arbitrary code. If you trust this file, '
            f'opt in for it explicitly: set {TRUSTED_ENV}={filename} '
            f'(several files separated by "{os.pathsep}"), or pass '
            '--trust-checkpoint to tools/train.py / tools/test.py.') from e
    except Exception as e:
        # Broken files fail in many ways: truncated zip archives with
        # RuntimeError or OSError, truncated legacy files with EOFError,
        # non-checkpoints with KeyError (bad magic number).
        raise CorruptCheckpointError(
            f'checkpoint file {name} is truncated or corrupt '
            f'({_reason(e)})') from e


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for local paths and model-zoo
    names (``mmmae.utils.model_zoo``: fetched like a URL)."""
    from .model_zoo import get_model, looks_like_name
    if not osp.exists(osp.expanduser(filename)) and looks_like_name(filename):
        # A zoo name (an unknown one fails listing the known names).
        return load_from_http(get_model(filename).weights, map_location)
    return load_checkpoint_file(filename, map_location)


def load_from_http(url: str,
                   map_location: Any = None,
                   model_dir: Optional[str] = None) -> Any:
    """mmengine ``CheckpointLoader`` scheme for http(s) URLs: download into
    torch's hub cache (rank 0 first), verify the sha256 and convert an
    official MultiMAE/timm file (``mmmae.utils.model_zoo``), then load the
    copy safely."""
    from .model_zoo import resolve_checkpoint
    rank, world_size = get_dist_info()
    if rank == 0:
        cached = resolve_checkpoint(url, model_dir)
    if world_size > 1:
        torch.distributed.barrier()
    if rank != 0:
        cached = resolve_checkpoint(url, model_dir)  # verified, cached
    return load_checkpoint_file(cached, map_location, source=url)


def register_safe_checkpoint_loader() -> None:
    """Make mmengine load local and http(s) checkpoints through mmmae's
    strict loaders (every Runner load, resume and ``Pretrained`` init).
    Idempotent."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_http, force=True)
