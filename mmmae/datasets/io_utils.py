"""Crash-safe writing of dataset folders (generator and converters).

A dataset folder is built under a sibling staging name
(``<out_dir>.incomplete``, or ``<out_dir>.incomplete-<pid>`` for runs that
do not resume) and published with one ``os.rename`` once every
file and the completion marker are written. ``<out_dir>`` therefore either
does not exist or is complete; an interrupted run leaves only the staging
folder, which no dataset points at. Inside the staging folder each file is
written to a hidden temporary name, fsynced and moved into place with
``os.replace`` (:mod:`mmmae.utils.atomic_io`), so a file that exists is a
whole file and a restarted run may keep it (``resume=True``).
"""
import json
import os
import os.path as osp
import shutil
from typing import Optional

import numpy as np

from mmmae.utils import atomic_io

MARKER = '.complete'
STAGING_SUFFIX = '.incomplete'
_PARAMS = '.params.json'


def read_marker(out_dir: str) -> Optional[dict]:
    """Return the completion manifest of ``out_dir``, or None if absent."""
    path = osp.join(out_dir, MARKER)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def is_complete(out_dir: str, params: dict) -> bool:
    """Whether ``out_dir`` was completed by a run with exactly ``params``."""
    marker = read_marker(out_dir)
    return marker is not None and marker.get('params') == _jsonable(params)


def _jsonable(obj):
    # Round-trip so tuples compare equal to the lists stored in JSON.
    return json.loads(json.dumps(obj))


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to a hidden temp name next to ``path``, fsync, rename
    (:func:`mmmae.utils.atomic_io.atomic_write_bytes`)."""
    atomic_io.atomic_write_bytes(path, data)


def atomic_write_png(path: str, img: np.ndarray) -> None:
    """Encode ``img`` as PNG and write it atomically.

    Args:
        path (str): Destination ``.png`` path.
        img (np.ndarray): (H, W) uint8/uint16, or (H, W, 3) uint8 in RGB
            order (converted to OpenCV's BGR here).
    """
    if img.ndim == 3:
        img = np.ascontiguousarray(img[..., ::-1])  # RGB -> BGR for cv2
    atomic_io.atomic_imwrite(path, img)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def prepare_staging(out_dir: str, params: dict, resume: bool = False) -> str:
    """Create the staging folder of ``out_dir``.

    With ``resume`` (converters), the folder is ``<out_dir>.incomplete`` and
    one left by an earlier run with the same ``params`` is reused, since its
    files are whole. Without it (the generator, which is fast), each process
    gets ``<out_dir>.incomplete-<pid>``, so concurrent runs (parallel tests,
    several ranks) never write into each other; folders of dead processes
    are removed.

    Returns:
        str: The staging folder path.
    """
    base = out_dir.rstrip('/\\') + STAGING_SUFFIX
    if not resume:
        parent = osp.dirname(osp.abspath(base)) or '.'
        prefix = osp.basename(base) + '-'
        if osp.isdir(parent):
            for name in os.listdir(parent):
                pid = name[len(prefix):]
                if name.startswith(prefix) and pid.isdigit() and \
                        not _pid_alive(int(pid)):
                    shutil.rmtree(osp.join(parent, name), ignore_errors=True)
        staging = f'{base}-{os.getpid()}'
    else:
        staging = base
    params_path = osp.join(staging, _PARAMS)
    if osp.isdir(staging):
        same = False
        if resume and osp.isfile(params_path):
            with open(params_path) as f:
                same = json.load(f) == _jsonable(params)
        if not same:
            shutil.rmtree(staging)
    os.makedirs(staging, exist_ok=True)
    atomic_write_bytes(params_path, json.dumps(_jsonable(params)).encode())
    return staging


def publish(staging: str, out_dir: str, manifest: dict,
            overwrite: bool = False) -> None:
    """Write the completion marker into ``staging``, rename it ``out_dir``.

    If another process completed ``out_dir`` with the same parameters in the
    meantime, its result is kept and ``staging`` is dropped.

    Args:
        staging (str): Folder returned by :func:`prepare_staging`.
        out_dir (str): Final folder; must not exist unless ``overwrite``.
        manifest (dict): Saved as the marker; must hold ``params``.
        overwrite (bool): Replace an existing ``out_dir``.
    """
    os.remove(osp.join(staging, _PARAMS))
    # Temp files of writes cut short by an earlier interrupted run.
    for root, _, files in os.walk(staging):
        for name in files:
            if name.startswith('.') and name.endswith('.tmp'):
                os.remove(osp.join(root, name))
    atomic_write_bytes(
        osp.join(staging, MARKER),
        json.dumps(_jsonable(manifest), indent=1).encode())
    if osp.exists(out_dir):
        if not overwrite:
            if is_complete(out_dir, manifest['params']):
                shutil.rmtree(staging)  # a concurrent run finished first
                return
            raise FileExistsError(
                f'{out_dir} already exists; pass overwrite to replace it '
                f'(the finished output is kept in {staging})')
        shutil.rmtree(out_dir)
    parent = osp.dirname(osp.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    try:
        os.rename(staging, out_dir)
    except OSError:
        # out_dir appeared between the check and the rename.
        if is_complete(out_dir, manifest['params']):
            shutil.rmtree(staging)
            return
        raise


def check_out_dir(out_dir: str, params: dict, overwrite: bool,
                  tool: str) -> bool:
    """Decide what a writer does with an existing ``out_dir``.

    Returns:
        bool: True if ``out_dir`` is already complete with ``params`` (the
        caller has nothing to do).

    Raises:
        FileExistsError: ``out_dir`` exists with other params, or without a
            completion marker, and ``overwrite`` is not set.
    """
    if not osp.exists(out_dir):
        return False
    if is_complete(out_dir, params) and not overwrite:
        return True
    if overwrite:
        return False
    marker = read_marker(out_dir)
    if marker is None:
        why = f'has no {MARKER} marker (not written by {tool}, or unfinished)'
    else:
        why = (f'was written with other parameters {marker.get("params")} '
               f'(asked for {_jsonable(params)})')
    raise FileExistsError(f'{out_dir} {why}; choose another output folder '
                          'or pass --overwrite')


class Progress:
    """A progress bar on a terminal, a line per tenth in logs.

    mmengine's ProgressBar redraws with carriage returns, which turns into
    one very long line in a log file or CI output.
    """

    def __init__(self, total: int, title: str = ''):
        import sys
        self.total, self.done, self.title = max(int(total), 1), 0, title
        self._bar = None
        if sys.stdout.isatty():
            from mmengine.utils import ProgressBar
            self._bar = ProgressBar(self.total)

    def update(self, n: int = 1) -> None:
        before = self.done * 10 // self.total
        self.done += n
        if self._bar is not None:
            for _ in range(n):
                self._bar.update()
        elif self.done * 10 // self.total > before:
            print(f'{self.title} {self.done}/{self.total}', flush=True)
