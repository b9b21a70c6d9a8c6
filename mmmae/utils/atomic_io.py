"""Crash-safe file writes: temporary name in the same folder, fsync, rename.

A reader of ``path`` sees either the previous complete file or the new
complete file, never a truncated one: the bytes go to a hidden temporary
file next to ``path``, are flushed and fsynced, and ``os.replace`` moves
them into place (atomic on POSIX within one file system). The folder is
fsynced afterwards so the rename itself survives a power loss.

A full disk (``ENOSPC``) or quota error raises :class:`DiskFullError`,
which names the file; the temporary file is removed and ``path`` keeps
its previous content.

Every write of mmmae (and, through :mod:`mmmae.utils.atomic_backend`, every
local write of mmengine's file backends) ends in :func:`_publish`, the one
place where a finished temporary file becomes ``path``. Tests that need to
stop a process in the middle of a save patch that function.
"""
import contextlib
import errno
import io
import os
import os.path as osp
import shutil
import tempfile
from typing import IO, Iterator, Optional, Sequence, Union

__all__ = [
    'DiskFullError', 'atomic_open', 'atomic_write_bytes', 'atomic_write_text',
    'atomic_torch_save', 'atomic_imwrite', 'staged_dir', 'DISK_FULL_ERRNOS'
]

# errno values of a full disk or an exhausted quota.
DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)

# mkstemp creates 0600 files; give the final file the mode a plain open()
# would have given it. The umask can only be read by setting it, so read it
# once, at import, before any thread starts.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


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


def _publish(tmp: str, path: str) -> None:
    """Move the finished, fsynced ``tmp`` to ``path`` (atomic rename)."""
    os.replace(tmp, path)


def _disk_full(error: OSError, path: str, folder: str) -> DiskFullError:
    return DiskFullError(
        error.errno, f'disk full while writing {path}: no space left on '
        f'{folder}; the previous version of the file (if any) is '
        'intact. Free space, then resume.')


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
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f'.{osp.basename(path)}.', suffix='.tmp', dir=folder)
    except OSError as e:
        if e.errno in DISK_FULL_ERRNOS:
            raise _disk_full(e, path, folder) from e
        raise
    try:
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _publish(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno in DISK_FULL_ERRNOS and \
                not isinstance(e, DiskFullError):
            raise _disk_full(e, path, folder) from e
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


def atomic_imwrite(path: str,
                   img,
                   params: Optional[Sequence[int]] = None) -> None:
    """``cv2.imwrite(path, img)``, atomically.

    The image is encoded in memory (format from the extension of ``path``)
    and written with :func:`atomic_write_bytes`.

    Args:
        path (str): Destination, e.g. ``out/000001.png``.
        img (np.ndarray): (H, W) or (H, W, C) in OpenCV's BGR order.
        params (Sequence[int], optional): ``cv2.imencode`` parameters.
    """
    import cv2
    import numpy as np
    ext = osp.splitext(path)[1] or '.png'
    try:
        # Flipped views (img[..., ::-1]) have negative strides cv2 refuses.
        ok, buf = cv2.imencode(ext, np.ascontiguousarray(img),
                               list(params or []))
    except cv2.error as e:
        ok, buf = False, e
    if not ok:
        raise ValueError(f'cannot encode an image of shape '
                         f'{getattr(img, "shape", None)} and dtype '
                         f'{getattr(img, "dtype", None)} as {ext} for {path}')
    atomic_write_bytes(path, buf.tobytes())


@contextlib.contextmanager
def staged_dir(out_dir: str) -> Iterator[str]:
    """A folder whose files appear in ``out_dir`` only once they are whole.

    For writers that open their own files (e.g. mmseg metrics writing
    predictions): they write into the yielded staging folder
    ``<out_dir>.incomplete-<pid>`` (a sibling, so renames stay on one file
    system); when the block exits normally each file is fsynced and
    renamed into ``out_dir`` (an existing file of the same name is
    replaced), and the staging folder is removed. On an exception the
    staging folder is removed and ``out_dir`` is untouched. A killed
    process leaves its staging folder, never a truncated file in
    ``out_dir``.

    Args:
        out_dir (str): Final folder.

    Yields:
        str: The staging folder.
    """
    out_dir = osp.abspath(out_dir)
    staging = f'{out_dir.rstrip(os.sep)}.incomplete-{os.getpid()}'
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for root, _, files in os.walk(staging):
        dest_root = osp.join(out_dir, osp.relpath(root, staging))
        os.makedirs(dest_root, exist_ok=True)
        for name in files:
            src, dest = osp.join(root, name), osp.join(dest_root, name)
            try:
                with open(src, 'rb') as f:
                    os.fsync(f.fileno())
            except OSError as e:
                if e.errno in DISK_FULL_ERRNOS:
                    raise _disk_full(e, dest, dest_root) from e
                raise
            _publish(src, dest)
        _fsync_dir(dest_root)
    shutil.rmtree(staging, ignore_errors=True)
