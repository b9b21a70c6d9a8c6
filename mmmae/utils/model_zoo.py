"""Pre-trained weights by model name or URL.

The names are the ``Models`` of the metafiles that ``model-index.yml``
lists (``configs/*/metafile.yml``; in an installed package the copies under
``mmmae/.mim/``). :func:`resolve_checkpoint` turns a name or an http(s)
URL into a local mmmae checkpoint:

1. download into mmengine's cache, ``<torch.hub dir>/checkpoints`` (where
   mmengine's own ``load_from_http`` puts files), hashing while writing;
2. check the sha256: the full digest when known (the metafile's
   ``Sha256``, or a ``#sha256=<hex>`` pin at the end of the URL), else the
   8-hex torch.hub suffix of the file name (``...-afff3f8c.pth``). A
   mismatch deletes the file and names both hashes. The digest seen on
   first download is kept beside the file (``<file>.sha256``) and checked
   again on every later use (trust on first use);
3. convert an official MultiMAE or timm/MAE file with the converters of
   ``mmmae.models.pretrainers.checkpoint_convert``; the result is cached
   beside the download (``<stem>_mmmae.pth``, written atomically).

Loading the result is left to the caller, which goes through mmmae's
weights_only loader (:mod:`mmmae.utils.checkpoint`).
"""
import functools
import hashlib
import os
import os.path as osp
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlparse

import torch
import yaml
from mmengine.logging import print_log

from .atomic_io import (DiskFullError, atomic_open, atomic_torch_save,
                        atomic_write_text)
from .delta_checkpoint import file_sha256

_CHUNK = 1 << 20
# torch.hub's file-name convention: ``name-<first 8+ hex of sha256>.ext``.
_HASH_SUFFIX = re.compile(r'-([a-f0-9]{8,})\.\w+$')
_PIN = re.compile(r'#sha256=([a-fA-F0-9]{64})$')
_CONVERTER = 'tools/model_converters/multimae2mmmae.py'
_TIMEOUT_S = 60


class UnknownModelError(FileNotFoundError):
    """A checkpoint name that is neither a file, a URL nor a zoo model (a
    ``FileNotFoundError``, so callers that handle a missing file still
    do)."""


class ChecksumMismatchError(RuntimeError):
    """A downloaded or cached file has another sha256 than expected."""


class CheckpointDownloadError(OSError):
    """A checkpoint URL could not be downloaded (e.g. no network)."""


@dataclass(frozen=True)
class ZooModel:
    """One model of the zoo that has weights.

    Attributes:
        name (str): ``Name`` in its metafile.
        config (str): config path relative to the repository root.
        weights (str): URL of the weights.
        sha256 (str, optional): full digest, None when unknown.
        license (str, optional): the weights' licence.
    """
    name: str
    config: str
    weights: str
    sha256: Optional[str] = None
    license: Optional[str] = None


def zoo_root() -> str:
    """The folder holding ``model-index.yml``: the repository root (a
    source checkout or ``pip install -e .``), else the installed package's
    ``mmmae/.mim``."""
    pkg = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for root in (osp.dirname(pkg), osp.join(pkg, '.mim')):
        if osp.isfile(osp.join(root, 'model-index.yml')):
            return root
    raise FileNotFoundError(
        f'model-index.yml is neither in {osp.dirname(pkg)} nor in '
        f'{osp.join(pkg, ".mim")}; reinstall mmmae')


def get_config_path(cfg_path: str) -> str:
    """The file of a packaged config, e.g. ``'multimae/<name>.py'`` (a
    leading ``'mmmae::'`` as in mmengine's scope syntax is accepted).

    Raises:
        FileNotFoundError: naming the configs folder searched.
    """
    cfg_path = cfg_path.split('::', 1)[-1] if cfg_path.startswith(
        'mmmae::') else cfg_path
    folder = osp.join(zoo_root(), 'configs')
    path = osp.join(folder, cfg_path)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'no config "{cfg_path}" in {folder} (give it relative to '
            'configs/, e.g. "multimae/<name>.py")')
    return path


def get_config(cfg_path: str):
    """Load a config shipped with mmmae, from a checkout or an installed
    package (``mmmae/.mim/configs``), like mmengine's ``get_config`` for
    mim packages: ``get_config('multimae/<name>.py')``.

    Returns:
        mmengine.Config: the config (its ``_base_`` files resolved).
    """
    from .config_errors import load_config
    return load_config(get_config_path(cfg_path))


def _read_yaml(path: str) -> dict:
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a YAML mapping, got '
                         f'{type(data).__name__}')
    return data


def metafile_paths(root: Optional[str] = None) -> List[str]:
    """Absolute paths of the metafiles ``model-index.yml`` imports."""
    root = root or zoo_root()
    index = osp.join(root, 'model-index.yml')
    imports = _read_yaml(index).get('Import')
    if not isinstance(imports, list) or not imports:
        raise ValueError(f'{index}: "Import" must list the metafiles')
    return [osp.join(root, p) for p in imports]


def read_models(root: Optional[str] = None) -> List[dict]:
    """Every ``Models`` entry of every metafile, as parsed, with the
    metafile's path under ``'_metafile'``."""
    models = []
    for path in metafile_paths(root):
        for entry in _read_yaml(path).get('Models') or []:
            models.append(dict(entry, _metafile=path))
    return models


@functools.lru_cache(maxsize=4)
def load_model_zoo(root: Optional[str] = None) -> Dict[str, ZooModel]:
    """The zoo models that have weights, by name."""
    zoo = {}
    for entry in read_models(root):
        if not entry.get('Weights'):
            continue
        meta = entry.get('Metadata') or {}
        sha = str(meta.get('Sha256', 'unknown')).lower()
        zoo[entry['Name']] = ZooModel(
            name=entry['Name'], config=entry['Config'],
            weights=entry['Weights'],
            sha256=None if sha == 'unknown' else sha,
            license=meta.get('License'))
    return zoo


def model_names() -> List[str]:
    """Names of the zoo models with weights, sorted."""
    return sorted(load_model_zoo())


def is_model_name(name: str) -> bool:
    """Whether ``name`` is a zoo model (and not an existing file)."""
    return (isinstance(name, str) and not osp.exists(name)
            and name in load_model_zoo())


def looks_like_name(name: str) -> bool:
    """A bare word, not a path: no separator and no checkpoint suffix."""
    return ('/' not in name and os.sep not in name
            and not name.endswith(('.pth', '.pt', '.ckpt', '.bin')))


def get_model(name: str) -> ZooModel:
    """The zoo entry of ``name``.

    Raises:
        UnknownModelError: naming the known models.
    """
    zoo = load_model_zoo()
    if name not in zoo:
        raise UnknownModelError(
            f'unknown model name "{name}" (and no such checkpoint file); '
            f'the model zoo knows: {", ".join(sorted(zoo))} (see '
            'model-index.yml), or give a file path or an http(s) URL')
    return zoo[name]


def split_pin(url: str) -> Tuple[str, Optional[str]]:
    """``(url without the pin, sha256 or None)`` for ``URL#sha256=<hex>``."""
    m = _PIN.search(url)
    if m is None:
        return url, None
    return url[:m.start()], m.group(1).lower()


def hash_suffix(url: str) -> Optional[str]:
    """The torch.hub sha256 prefix in the file name, if any."""
    m = _HASH_SUFFIX.search(osp.basename(urlparse(url).path))
    return m.group(1) if m else None


def cache_dir() -> str:
    """Where downloads go: mmengine's (and torch.hub's) checkpoint cache."""
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def _manual_help(url: str, dst: str) -> str:
    return (f'download it by hand (e.g. `wget -O {dst} "{url}"`), then '
            f'convert it: `python {_CONVERTER} {dst} '
            f'{osp.splitext(dst)[0]}_mmmae.pth`, and give that file '
            'instead of the name or URL')


def _mismatch(url: str, path: str, expected: str, got: str,
              what: str) -> ChecksumMismatchError:
    return ChecksumMismatchError(
        f'sha256 mismatch for {url}: expected {expected} ({what}), got '
        f'{got}; the file {path} was deleted. Retry the download; if the '
        'published file changed on purpose, pin the new digest with '
        f'"{url}#sha256=<hex>"')


def _check(url: str, path: str, got: str, sha256: Optional[str],
           prefix: Optional[str],
           what: str = 'the pinned or metafile sha256') -> None:
    """Raise (after deleting ``path``) when ``got`` contradicts the
    expected digest (described by ``what``) or prefix."""
    if sha256 and got != sha256:
        bad = (sha256, what)
    elif not sha256 and prefix and not got.startswith(prefix):
        bad = (prefix, 'the hash prefix in the file name')
    else:
        return
    for p in (path, path + '.sha256'):
        if osp.exists(p):
            os.remove(p)
    raise _mismatch(url, path, bad[0], got, bad[1])


def download(url: str, sha256: Optional[str] = None,
             model_dir: Optional[str] = None) -> str:
    """Download ``url`` into the cache once and verify it.

    Args:
        url (str): http(s) URL, optionally ending in ``#sha256=<hex>``.
        sha256 (str, optional): expected full digest (a pin in the URL
            wins). Without one, the file name's hash suffix is checked.
        model_dir (str, optional): cache folder; defaults to
            :func:`cache_dir`.

    Returns:
        str: the local path.

    Raises:
        CheckpointDownloadError: the URL cannot be fetched; names the URL
            and the manual download and convert commands.
        ChecksumMismatchError: names both digests; the file is deleted.
    """
    url, pin = split_pin(url)
    sha256 = (pin or sha256 or '').lower() or None
    prefix = hash_suffix(url)
    model_dir = model_dir or cache_dir()
    dst = osp.join(model_dir, osp.basename(urlparse(url).path))
    record = dst + '.sha256'
    if osp.isfile(dst):
        got = file_sha256(dst)
        first = None
        if osp.isfile(record):
            with open(record, encoding='utf-8') as f:
                first = f.read().strip() or None
        _check(url, dst, got, sha256 or first, prefix,
               'the pinned or metafile sha256' if sha256 else
               'the sha256 recorded at the first download')
        if first is None:
            atomic_write_text(record, got + '\n')
        return dst
    print_log(f'Downloading {url} to {dst}', logger='current')
    digest = hashlib.sha256()
    try:
        # Partial data lives in a temporary file that atomic_open deletes
        # on any error, so a failed or refused download leaves nothing.
        with atomic_open(dst, 'wb') as f:
            with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as resp:
                for chunk in iter(lambda: resp.read(_CHUNK), b''):
                    digest.update(chunk)
                    f.write(chunk)
            got = digest.hexdigest()
            _check(url, dst, got, sha256, prefix)
    except DiskFullError:
        raise
    except (urllib.error.URLError, OSError) as e:  # incl. timeouts
        raise CheckpointDownloadError(
            f'cannot download {url} ({e}); no network? '
            + _manual_help(url, dst)) from e
    atomic_write_text(record, got + '\n')
    print_log(f'sha256 of {dst}: {got} (pin it with "{url}#sha256={got}")',
              logger='current')
    return dst


def convert_cached(path: str, source: str) -> str:
    """An mmmae-format copy of the checkpoint at ``path``: ``path`` itself
    when it already is one, else ``<stem>_mmmae.pth`` beside it, converted
    once (official MultiMAE or timm/MAE ViT) and written atomically."""
    out = osp.splitext(path)[0] + '_mmmae.pth'
    if osp.isfile(out) and osp.getmtime(out) >= osp.getmtime(path):
        return out
    # Imported here: the converters import the model registry.
    from mmmae.models.pretrainers.checkpoint_convert import (
        convert_multimae, convert_vit, detect_checkpoint_format,
        unwrap_state_dict)
    from .checkpoint import load_checkpoint_file
    state = unwrap_state_dict(load_checkpoint_file(path, 'cpu',
                                                   source=source))
    try:
        kind = detect_checkpoint_format(state)
    except ValueError:
        kind = None  # another mmmae model's checkpoint (e.g. CLIP): as is
    if kind not in ('multimae', 'vit'):
        return path
    converted = convert_multimae(state) if kind == 'multimae' \
        else convert_vit(state)
    atomic_torch_save(
        dict(state_dict=converted,
             meta=dict(source=source, sha256=file_sha256(path),
                       converter=f'mmmae.utils.model_zoo ({kind})')), out)
    print_log(f'Converted {kind} checkpoint {source} to {out}',
              logger='current')
    return out


def resolve_checkpoint(checkpoint: str,
                       model_dir: Optional[str] = None) -> str:
    """A local mmmae checkpoint for a file path, a zoo name or a URL.

    A local path is returned unchanged. A zoo name or an http(s) URL is
    downloaded and verified (:func:`download`), then converted when it is
    an official MultiMAE or timm file (:func:`convert_cached`).

    Raises:
        UnknownModelError: a bare name that is no file and no zoo model.
        CheckpointDownloadError, ChecksumMismatchError: see
            :func:`download`.
    """
    if not isinstance(checkpoint, str) or osp.exists(checkpoint):
        return checkpoint
    url = checkpoint
    sha256 = None
    if urlparse(checkpoint).scheme not in ('http', 'https'):
        if not looks_like_name(checkpoint):
            return checkpoint  # a missing file: the loader names it
        model = get_model(checkpoint)
        url, sha256 = model.weights, model.sha256
    else:
        # A zoo URL gets the metafile's digest too.
        bare = split_pin(checkpoint)[0]
        for model in load_model_zoo().values():
            if model.weights == bare:
                sha256 = model.sha256
    path = download(url, sha256, model_dir)
    return convert_cached(path, split_pin(url)[0])
