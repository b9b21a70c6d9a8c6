"""mmengine's local file backend with crash-safe writes.

mmengine writes checkpoints (``save_checkpoint`` -> ``backend.put``),
best and published checkpoints, and ``mmengine.dump`` files (json results,
``DumpResults``) through the file backend of their path. Its
``LocalBackend`` opens the final name and writes into it, so a kill or a
full disk leaves a truncated file under that name. :class:`AtomicLocalBackend`
sends ``put``/``put_text`` through :mod:`mmmae.utils.atomic_io` (temporary
name in the same folder, fsync, rename); reads are unchanged.

:func:`install_atomic_local_backend` (called by ``register_all_modules``)
registers it for plain paths, for ``backend='local'`` and for the deprecated
``FileClient('disk')``, and drops backend instances cached before.

``last_checkpoint`` is not written through a backend (mmengine's
``CheckpointHook`` opens it directly); mmmae's ``CheckpointHook`` writes it
atomically.
"""
from pathlib import Path
from typing import Union

from mmengine.fileio import FileClient, HardDiskBackend, LocalBackend
from mmengine.fileio import io as mmengine_io
from mmengine.fileio import register_backend

from . import atomic_io


class _AtomicPutMixin:
    """``put``/``put_text`` by temporary file, fsync and rename."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        # Looked up on the module at call time, so a test can patch the
        # one write path of mmmae (e.g. to pause inside a save).
        atomic_io.atomic_write_bytes(str(filepath), obj)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        atomic_io.atomic_write_bytes(str(filepath), obj.encode(encoding))


class AtomicLocalBackend(_AtomicPutMixin, LocalBackend):
    """:class:`mmengine.fileio.LocalBackend` whose writes are atomic."""


class AtomicHardDiskBackend(_AtomicPutMixin, HardDiskBackend):
    """The deprecated ``FileClient('disk')`` backend, with atomic writes."""


def install_atomic_local_backend() -> None:
    """Route every local write of mmengine's file backends through
    :mod:`mmmae.utils.atomic_io`. Idempotent."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    if FileClient._backends.get('disk') is not AtomicHardDiskBackend:
        # Also drops FileClient instances that hold the old backend.
        FileClient.register_backend(
            'disk', AtomicHardDiskBackend, force=True)
    # get_file_backend(..., enable_singleton=True) caches instances.
    for key, backend in list(mmengine_io.backend_instances.items()):
        if isinstance(backend, LocalBackend) and \
                not isinstance(backend, _AtomicPutMixin):
            del mmengine_io.backend_instances[key]
