"""Crash-safe file writes: temporary name in the same folder, fsync, rename.

A reader of ``path`` sees either the previous complete file or the new
complete file, never a truncated one: the bytes go to a hidden temporary
file next to ``path``, are flushed and fsynced, and ``os.replace`` moves
them into place (atomic on POSIX within one file system). The folder is
fsynced afterwards so the rename itself survives a power loss.

A full disk (``ENOSPC``) or quota error raises :class:`DiskFullError`,
which names the file; the temporary file is removed and ``path`` keeps
its previous content.
"""
import contextlib
import errno
import io
import os
import os.path as osp
import tempfile
from typing import IO, Iterator, Union

__all__ = [
    'DiskFullError', 'atomic_open', 'atomic_write_bytes', 'atomic_write_text',
    'atomic_torch_save'
]

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """No space left while writing a file; the previous file is intact."""


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. platforms that cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'wb') -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the block exits.

    On an exception inside the block the temporary file is deleted and
    ``path`` is untouched.

    Args:
        path (str): Final destination.
        mode (str): ``'wb'`` or ``'w'``.
    """
    if mode not in ('wb', 'w'):
        raise ValueError(f'atomic_open: mode must be "wb" or "w", got {mode}')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno in _DISK_FULL:
            raise DiskFullError(
                e.errno, f'disk full while writing {path}: no space left on '
                f'{folder}; the previous version of the file (if any) is '
                'intact. Free space, then resume.') from e
        raise
    _fsync_dir(folder)


def atomic_write_bytes(path: str, data: Union[bytes, bytearray,
                                              memoryview]) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, 'wb') as f:
        f.write(data)


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_open(path, 'w') as f:
        f.write(text)


def atomic_torch_save(obj, path: str) -> None:
    """``torch.save(obj, path)``, atomically.

    The object is serialised in memory first, so a serialisation error
    never touches the disk.
    """
    import torch
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getbuffer())
