"""Pick the checkpoint that ``--resume`` (auto) continues from.

mmengine reads ``<work_dir>/last_checkpoint`` and resumes from whatever it
names: an empty file gives ``checkpoint file not found:`` with a blank name,
a truncated or deleted target fails the same way, and every later
``--resume`` fails until the file is fixed by hand. Here the file it names
is taken only if it is complete; otherwise the newest complete regular
checkpoint (``iter_N.pth`` / ``epoch_N.pth``) in the work dir (and in the
folder ``last_checkpoint`` pointed into) is taken, and the log says which
one and why. With none, training starts from scratch and the log says so.
"""
import logging
import os
import os.path as osp
import re
import zipfile
from typing import Iterable, List, Optional, Tuple

from mmengine.logging import print_log

__all__ = ['checkpoint_problem', 'find_resume_checkpoint']

# Regular checkpoints of CheckpointHook's default filename_tmpl. Best and
# published checkpoints carry no optimizer state; frozen-base files are no
# run state at all.
_REGULAR = re.compile(r'^(iter|epoch)_(\d+)\.pth$')


def _log(msg: str, level: int = logging.INFO) -> None:
    print_log(f'resume: {msg}', logger='current', level=level)


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` cannot be resumed from, or None if it is complete.

    A torch (zip) checkpoint is complete when its archive opens, has a
    ``data.pkl`` record and every member matches its CRC
    (``zipfile.testzip`` reads the whole file once, nothing is unpickled).
    A legacy (non-zip) file must load with mmmae's safe loader (or be
    trusted).
    """
    if not osp.isfile(path):
        return 'the file does not exist'
    size = osp.getsize(path)
    if size == 0:
        return 'the file is empty (0 bytes)'
    with open(path, 'rb') as f:
        magic = f.read(4)
    if magic == b'PK\x03\x04' and not zipfile.is_zipfile(path):
        return f'it is truncated ({size} bytes: the zip archive ends ' \
               'before its central directory)'
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as zf:
                if not any(n.endswith('/data.pkl') or n == 'data.pkl'
                           for n in zf.namelist()):
                    return 'the archive has no data.pkl: not a torch ' \
                           'checkpoint'
                bad = zf.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            return f'the archive is damaged ({e})'
        if bad is not None:
            return f'the archive member {bad} fails its CRC check'
        return None
    # Legacy format (torch < 1.6; mmmae never writes it): it must load.
    from .checkpoint import load_checkpoint_file
    try:
        load_checkpoint_file(path, map_location='cpu')
    except Exception as e:
        first = (str(e).splitlines() or [type(e).__name__])[0]
        return f'it is truncated or not a checkpoint ({size} bytes, not ' \
               f'a torch zip archive, and loading it failed: {first})'
    return None


def _step(name: str) -> Optional[int]:
    m = _REGULAR.match(name)
    return int(m.group(2)) if m else None


def _candidates(folders: Iterable[str]) -> List[str]:
    """Regular checkpoints in ``folders``, newest (highest step, then
    latest mtime) first."""
    found = {}
    for folder in folders:
        if not osp.isdir(folder):
            continue
        for name in os.listdir(folder):
            step = _step(name)
            path = osp.abspath(osp.join(folder, name))
            if step is not None and osp.isfile(path):
                found[path] = (step, osp.getmtime(path))
    return sorted(found, key=found.get, reverse=True)


def _read_last_checkpoint(work_dir: str) -> Tuple[Optional[str], str]:
    """(path named by last_checkpoint or None, why it is unusable)."""
    record = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(record):
        return None, f'{record} does not exist'
    try:
        with open(record) as f:
            named = f.read().strip()
    except (OSError, UnicodeDecodeError) as e:
        return None, f'{record} cannot be read ({e})'
    if not named:
        return None, f'{record} is empty'
    return named, ''


def find_resume_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint an automatic ``--resume`` should continue from.

    Args:
        work_dir (str): The run's work dir (holds ``last_checkpoint``).

    Returns:
        str | None: The file ``last_checkpoint`` names if it is complete;
        else the newest complete ``iter_N.pth``/``epoch_N.pth`` in
        ``work_dir`` or in the folder ``last_checkpoint`` points into; None
        when there is none (train from scratch). Each decision is logged.
    """
    named, why = _read_last_checkpoint(work_dir)
    folders = [osp.abspath(work_dir)]
    if named is not None:
        problem = checkpoint_problem(named)
        if problem is None:
            _log(f'resuming from {named} (named by last_checkpoint)')
            return named
        why = f'last_checkpoint names {named}, but {problem}'
        folders.append(osp.dirname(osp.abspath(named)))
    skipped = []
    for path in _candidates(folders):
        if named is not None and osp.abspath(named) == path:
            continue  # already examined
        problem = checkpoint_problem(path)
        if problem is None:
            detail = ''.join(f'; skipped {p}: {w}' for p, w in skipped)
            _log(f'{why}; resuming from {path}, the newest complete '
                 f'checkpoint in {osp.dirname(path)}{detail}',
                 logging.WARNING)
            return path
        skipped.append((path, problem))
    detail = ''.join(f'; skipped {p}: {w}' for p, w in skipped)
    if named is None and not skipped and why.endswith('does not exist'):
        # A fresh work dir: the ordinary first start of `--resume`.
        _log(f'no checkpoint in {work_dir}: training starts from scratch')
    else:
        _log(f'{why}, and no other complete checkpoint is in '
             f'{" or ".join(sorted(set(folders)))}{detail}: training starts '
             'from scratch', logging.WARNING)
    return None
