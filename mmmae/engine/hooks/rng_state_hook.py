"""Exact resume: every random stream continues where the checkpoint left it.

mmengine restores the weights, optimizer, schedulers and the sampler
position on ``--resume``, but a resumed run still leaves the uninterrupted
one at its first step, for four reasons (see docs/crash_safety.md):

1. the python / numpy / torch (/ CUDA) RNG states of the main process are
   not saved: dropout, drop-path, masking and, with ``num_workers=0``, every
   augmentation restart from the seed;
2. creating a dataloader iterator draws its base seed from the global torch
   RNG: once at iteration 0 in a fresh run, at iteration ``k`` after a
   resume, which shifts the stream by one draw;
3. validation draws from the same RNGs between a checkpoint and the next
   iteration, and a resumed run does not repeat that validation;
4. each dataloader worker restarts from ``seed + worker_id``.

This hook fixes 1-3 and, through :class:`WorkerRngTracker`, 4.
"""
from functools import partial
from typing import Optional

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmmae.engine.worker_rng import WorkerRngTracker
from mmmae.registry import HOOKS
from mmmae.utils.rng_state import (cuda_state_restorable, get_rng_state,
                                   set_rng_state)

CHECKPOINT_KEY = 'rng_state'


@HOOKS.register_module()
class RngStateHook(Hook):
    """Save all RNG states in every checkpoint and restore them on resume.

    - ``before_train``: gives the train dataloader its own
      ``torch.Generator`` (seeded with the run's seed), so creating its
      iterator never draws from the global torch RNG; on resume, re-seeds
      the sampler and worker seeding with the checkpoint's seed (mmengine
      restores that seed only after the dataloader is built); wraps an
      iteration loop's ``dataloader_iterator`` in :class:`WorkerRngTracker`.
    - ``before_save_checkpoint``: ``checkpoint['rng_state'] = dict(main=...,
      workers=...)`` (see ``mmmae.utils.rng_state`` for the layout).
    - ``after_load_checkpoint``: keeps the states; ``before_train_epoch``
      restores them when the run resumed at the checkpoint's iteration (not
      for ``load_from``). The hook has the lowest priority, so this is the
      last thing before the first batch is drawn.
    - ``before_val`` / ``after_val``: validation leaves the training RNG
      streams untouched, so a run does not depend on whether, or where, it
      was validated.

    Cost: one ``get_rng_state`` per checkpoint and validation (microseconds)
    and, with ``num_workers > 0``, about 15 KB of RNG state returned with
    each batch by its worker.
    """

    priority = 'LOWEST'

    def __init__(self) -> None:
        self._loaded: Optional[tuple] = None
        self._to_restore: Optional[dict] = None
        self._val_state: Optional[dict] = None
        self._tracker: Optional[WorkerRngTracker] = None

    # -- resume -----------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        meta = checkpoint.get('meta') or {}
        self._loaded = (meta.get('iter'), checkpoint.get(CHECKPOINT_KEY))

    def _resumed_state(self, runner) -> Optional[tuple]:
        """``(iter, record)`` when this run resumed from the loaded
        checkpoint, else None (``load_from`` starts at iteration 0)."""
        if self._loaded is None or runner.iter == 0:
            return None
        it, record = self._loaded
        return (it, record) if it == runner.iter else None

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        dataloader = loop.dataloader
        resumed = self._resumed_state(runner)
        self._loaded = None
        if resumed is not None:
            self._resync_data_seed(runner, dataloader)
        if getattr(dataloader, 'generator', None) is None:
            dataloader.generator = torch.Generator()
            dataloader.generator.manual_seed(runner.seed)
        iterator = getattr(loop, 'dataloader_iterator', None)
        if iterator is not None and hasattr(iterator, 'skip_iter'):
            self._tracker = WorkerRngTracker(iterator, dataloader)
            loop.dataloader_iterator = self._tracker
        if resumed is None:
            return
        it, record = resumed
        if record is None:
            runner.logger.warning(
                f'RngStateHook: the checkpoint of iteration {it} holds no '
                'RNG states (saved without RngStateHook); the resumed run '
                'draws fresh random numbers and will not be bit-identical '
                'to an uninterrupted run')
            return
        self._to_restore = record
        self._check_workers(runner, dataloader, record, it)

    def _check_workers(self, runner, dataloader, record: dict,
                       it: int) -> None:
        num_workers = int(getattr(dataloader, 'num_workers', 0) or 0)
        if num_workers == 0:
            return
        if get_rank() != 0:
            runner.logger.warning(
                'RngStateHook: checkpoints hold the dataloader worker RNG '
                'states of rank 0 only; the workers of this rank restart '
                'from their seeds')
            return
        workers = record.get('workers')
        if self._tracker is None:
            runner.logger.warning(
                f'RngStateHook: {type(runner.train_loop).__name__} has no '
                'dataloader_iterator; its dataloader workers restart from '
                'their seeds (exact only without persistent workers)')
        elif not self._tracker.load_state_dict(workers, it):
            saved = (workers or {}).get('num_workers')
            runner.logger.warning(
                'RngStateHook: no complete dataloader worker RNG states for '
                f'{num_workers} workers in the checkpoint (saved with '
                f'{saved} workers); the workers restart from their seeds')

    @staticmethod
    def _resync_data_seed(runner, dataloader) -> None:
        """mmengine builds the sampler and the worker seeding with the
        config's seed, then on resume adopts the checkpoint's seed for the
        main process only; with ``randomness.seed=None`` the data order
        would change. Give both the seed the run continues with."""
        randomness = runner.cfg.get('randomness') or {}
        if randomness.get('diff_rank_seed', False):
            return
        sampler = getattr(dataloader, 'sampler', None)
        batch_sampler = getattr(dataloader, 'batch_sampler', None)
        for s in (sampler, getattr(batch_sampler, 'sampler', None)):
            if s is not None and getattr(s, 'seed', None) not in (
                    None, runner.seed):
                runner.logger.info(
                    f'RngStateHook: sampler seed {s.seed} -> {runner.seed} '
                    '(the seed of the resumed checkpoint)')
                s.seed = runner.seed
        init_fn = dataloader.worker_init_fn
        if isinstance(init_fn, partial) and init_fn.keywords.get(
                'seed') not in (None, runner.seed):
            dataloader.worker_init_fn = partial(
                init_fn.func, *init_fn.args,
                **dict(init_fn.keywords, seed=runner.seed))

    def before_train_epoch(self, runner) -> None:
        record, self._to_restore = self._to_restore, None
        if record is None:
            return
        if get_rank() != 0:
            # Only rank 0 saves checkpoints, and other ranks' streams differ
            # (their data, and diff_rank_seed); they keep mmengine's seeding.
            runner.logger.warning(
                'RngStateHook: checkpoints hold the RNG states of rank 0 '
                'only; this rank continues from fresh random streams, so a '
                'resumed distributed run is not bit-identical')
            return
        set_rng_state(record['main'])
        if not cuda_state_restorable(record['main']):
            runner.logger.warning(
                'RngStateHook: the checkpoint has CUDA RNG states for '
                f'{len(record["main"]["cuda"])} devices; this process sees '
                'a different number, so they were not restored')
        runner.logger.info(
            'RngStateHook: restored the python, numpy and torch RNG states '
            f'of iteration {runner.iter}')

    # -- save ---------------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # Inside validation (save_best), the training streams are the ones
        # saved before it, to which after_val returns.
        main = self._val_state if self._val_state is not None else \
            get_rng_state()
        workers = self._tracker.state_dict() if self._tracker else None
        checkpoint[CHECKPOINT_KEY] = dict(main=main, workers=workers)

    # -- validation is RNG-neutral -----------------------------------------
    def before_val(self, runner) -> None:
        self._val_state = get_rng_state()

    def after_val(self, runner) -> None:
        if self._val_state is not None:
            set_rng_state(self._val_state)
            self._val_state = None
