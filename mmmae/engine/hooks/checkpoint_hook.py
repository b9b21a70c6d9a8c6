"""mmengine's ``CheckpointHook`` with a crash-safe order of writes.

mmengine's hook, at each save, (1) deletes the oldest checkpoint beyond
``max_keep_ckpts``, (2) writes the new one, (3) rewrites ``last_checkpoint``
with a plain ``open(..., 'w')``. A kill or a full disk between (1) and the
end of (2) leaves fewer checkpoints than promised (none with
``max_keep_ckpts=1``), and one during (3) leaves an empty
``last_checkpoint``. The best checkpoint is likewise deleted before its
successor is written.

This hook, registered in mmmae's scope under the same name so that every
config's ``type='CheckpointHook'`` gets it, (1) writes the new checkpoint
(atomically, through :mod:`mmmae.utils.atomic_backend`), (2) points
``last_checkpoint`` at it atomically, and only then (3) deletes what the
new one supersedes. At any instant the work dir holds the previous
checkpoint and a ``last_checkpoint`` that names a complete file.
"""
import os.path as osp
from typing import List

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook as _CheckpointHook

from mmmae.registry import HOOKS
from mmmae.utils import atomic_io


class _DeferredRemoval:
    """A file backend stand-in that records ``remove``/``rmtree`` calls
    instead of running them; everything else goes to ``backend``."""

    def __init__(self, backend):
        self._backend = backend
        self.pending: List[str] = []

    def remove(self, path) -> None:
        self.pending.append(path)

    def rmtree(self, path) -> None:
        self.pending.append(path)

    def __getattr__(self, name):
        return getattr(self._backend, name)


def _recorded(record: str) -> str:
    try:
        with open(record) as f:
            named = f.read().strip()
    except OSError:
        named = ''
    return f'{record} still names {named}' if named else \
        f'{record} names no checkpoint yet'


@HOOKS.register_module(name='CheckpointHook')
class AtomicCheckpointHook(_CheckpointHook):
    """``CheckpointHook`` that never removes or damages the previous
    checkpoint before the next one is complete. Same arguments as
    :class:`mmengine.hooks.CheckpointHook`."""

    def _remove(self, path: str) -> None:
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed saves folders
            self.file_backend.rmtree(path)

    def _save_checkpoint_with_step(self, runner, step, meta):
        stale = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and
                                            self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            # Stored in the checkpoint: a resumed run prunes the same files.
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        record = osp.join(runner.work_dir, 'last_checkpoint')
        try:
            runner.save_checkpoint(
                self.out_dir,
                ckpt_filename,
                self.file_client_args,
                save_optimizer=self.save_optimizer,
                save_param_scheduler=self.save_param_scheduler,
                meta=meta,
                by_epoch=self.by_epoch,
                backend_args=self.backend_args,
                **self.args)
            if is_main_process():
                atomic_io.atomic_write_text(record, self.last_ckpt)
        except atomic_io.DiskFullError as e:
            # Tell the user what --resume will continue from.
            raise atomic_io.DiskFullError(
                e.errno, f'{e.strerror}; {_recorded(record)}') from e
        if not is_main_process():
            return
        for old in stale:
            self._remove(
                self.file_backend.join_path(self.out_dir,
                                            self.filename_tmpl.format(old)))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if not self.save_best:
            # As mmengine: nothing to do, and ``file_backend`` only exists
            # once ``before_train`` ran (``runner.val()`` alone skips it).
            return
        # mmengine removes the previous best file before writing the new
        # one; hold the removals back until the new file is complete.
        backend, deferred = self.file_backend, _DeferredRemoval(
            self.file_backend)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        for path in deferred.pending:
            self._remove(path)
