"""Dataloader-worker RNG continuity across a resume (iteration loops).

With ``num_workers > 0`` every augmentation draw happens in a worker
process. mmengine seeds worker ``w`` with ``seed + w`` whenever the
dataloader iterator is created: once per run with an ``InfiniteSampler``.
A resumed run therefore restarts every worker's stream from its seed
while the uninterrupted run's workers have moved on, and the augmentations
diverge from the first batch after the resume.

The main process cannot read a worker's RNG, so each worker reports it:
``CollateWithRngState`` tags every batch with the worker's python / numpy /
torch RNG state *after* producing it, which is the state at which that
worker starts its next batch. torch hands batch ``b`` (counted from the
iterator's creation) to worker ``b % num_workers``, so after ``k`` batches
the last ``num_workers`` tags are the complete worker state. On resume
from iteration ``k`` the new worker ``i`` will produce batch ``k + i``,
which in the uninterrupted run came from old worker ``(k + i) % n`` right
after batch ``k + i - n``: ``ResumedWorkerInit`` seeds worker ``i`` as that
old worker and loads the state tagged on batch ``k + i - n``.
"""
from collections import deque
from typing import Any, Callable, Dict, NamedTuple, Optional, Tuple

from torch.utils.data import BatchSampler, DataLoader, get_worker_info

from mmmae.utils.rng_state import get_rng_state, set_rng_state

__all__ = [
    'RngTaggedBatch', 'CollateWithRngState', 'ResumedWorkerInit',
    'WorkerRngTracker'
]


class RngTaggedBatch(NamedTuple):
    """A collated batch and the RNG state of the worker that made it
    (a namedtuple, so torch's ``pin_memory`` keeps its type)."""
    batch: Any
    rng: dict


class CollateWithRngState:
    """Wrap ``collate_fn``: inside a worker, return
    :class:`RngTaggedBatch`; in the main process, the plain batch."""

    def __init__(self, collate_fn: Callable):
        self.collate_fn = collate_fn

    def __call__(self, data):
        batch = self.collate_fn(data)
        if get_worker_info() is None:
            return batch
        return RngTaggedBatch(batch, get_rng_state(cuda=False))


class ResumedWorkerInit:
    """``worker_init_fn`` of the first iterator after a resume.

    Args:
        worker_init_fn (callable, optional): The dataloader's own function
            (mmengine's seeds python/numpy/torch with ``seed + worker_id``).
        start (int): Batches consumed before the resume.
        num_workers (int): Worker count (the same as before the resume).
        states (dict[int, dict]): New worker id -> RNG state to load after
            seeding; a worker absent here had produced no batch yet.
    """

    def __init__(self, worker_init_fn: Optional[Callable], start: int,
                 num_workers: int, states: Dict[int, dict]):
        self.worker_init_fn = worker_init_fn
        self.start = start
        self.num_workers = num_workers
        self.states = states

    def __call__(self, worker_id: int) -> None:
        # Seed as the old worker that made this worker's next batch.
        old_id = (self.start + worker_id) % self.num_workers
        if self.worker_init_fn is not None:
            self.worker_init_fn(old_id)
        state = self.states.get(worker_id)
        if state is not None:
            set_rng_state(state)


def skippable_sampler(dataloader: DataLoader) -> Tuple[Any, Optional[int]]:
    """The sampler with a ``skip(num_samples)`` method and the batch size,
    as mmengine's fast resume path finds them; ``(None, None)`` if none."""
    batch_size = getattr(dataloader, 'batch_size', None)
    sampler = getattr(dataloader, 'sampler', None)
    batch_sampler = getattr(dataloader, 'batch_sampler', None)
    if batch_size is None and batch_sampler.__class__ is BatchSampler:
        batch_size = batch_sampler.batch_size
    if not hasattr(sampler, 'skip') and \
            batch_sampler.__class__ is BatchSampler:
        sampler = batch_sampler.sampler
    if batch_size is None or not hasattr(sampler, 'skip'):
        return None, None
    return sampler, batch_size


class WorkerRngTracker:
    """Stand-in for ``IterBasedTrainLoop.dataloader_iterator`` that keeps
    each worker's RNG stream continuous across a resume.

    It offers what the loop calls (``skip_iter``, ``next``), unwraps tagged
    batches, and keeps the last ``num_workers`` worker states for
    checkpoints (:meth:`state_dict` / :meth:`load_state_dict`).

    Args:
        iterator: The loop's ``_InfiniteDataloaderIterator``.
        dataloader (DataLoader): Its dataloader; with ``num_workers > 0``
            its ``collate_fn`` is wrapped with :class:`CollateWithRngState`.
    """

    def __init__(self, iterator, dataloader: DataLoader):
        self._iterator = iterator
        self._dataloader = dataloader
        self.num_workers = int(getattr(dataloader, 'num_workers', 0) or 0)
        self.consumed = 0
        self._history: deque = deque(maxlen=max(self.num_workers, 1))
        self._resume_states: Optional[Dict[int, dict]] = None
        self._init_to_restore: Optional[Tuple[Callable]] = None
        if self.num_workers > 0 and not isinstance(dataloader.collate_fn,
                                                   CollateWithRngState):
            dataloader.collate_fn = CollateWithRngState(dataloader.collate_fn)

    def state_dict(self) -> Optional[dict]:
        """The worker states after the batches consumed so far, or None
        without workers. Shapes: ``batches`` and ``states`` have
        ``min(num_workers, consumed)`` entries, oldest first."""
        if self.num_workers == 0:
            return None
        return dict(
            num_workers=self.num_workers,
            consumed=self.consumed,
            batches=[b for b, _ in self._history],
            states=[s for _, s in self._history])

    def load_state_dict(self, state: Optional[dict], consumed: int) -> bool:
        """Take the worker states saved at ``consumed`` batches.

        Returns:
            bool: True when every new worker can continue its stream.
        """
        self.consumed = consumed
        if self.num_workers == 0:
            return True
        if not state or state.get('num_workers') != self.num_workers:
            return False
        pairs = list(zip(state['batches'], state['states']))
        self._history = deque(pairs, maxlen=self.num_workers)
        self._resume_states = dict(pairs)
        needed = range(max(consumed - self.num_workers, 0), consumed)
        return all(b in self._resume_states for b in needed)

    def skip_iter(self, num_iters: int) -> None:
        """Move to batch ``num_iters`` as the loop does on resume: through
        the sampler's ``skip`` when it has one (no data is loaded), else by
        mmengine's replay, which runs the workers through every skipped
        batch and so leaves their RNG where the first run left it."""
        self.consumed = num_iters
        sampler, batch_size = skippable_sampler(self._dataloader)
        started = getattr(self._iterator, '_iterator', None) is not None
        if num_iters <= 0 or sampler is None or started:
            self._iterator.skip_iter(num_iters)
            return
        sampler.skip(num_iters * batch_size)
        if self.num_workers > 0 and self._resume_states is not None:
            self._install_resumed_init(num_iters)

    def _install_resumed_init(self, start: int) -> None:
        n = self.num_workers
        states: Dict[int, dict] = {}
        for worker_id in range(n):
            previous = start + worker_id - n  # its last batch before start
            if previous in self._resume_states:
                states[worker_id] = self._resume_states[previous]
        original = self._dataloader.worker_init_fn
        self._dataloader.worker_init_fn = ResumedWorkerInit(
            original, start, n, states)
        # Put the plain function back once the workers have started.
        self._init_to_restore = (original, )

    def __iter__(self):
        return self

    def __next__(self) -> Any:
        batch = next(self._iterator)
        if self._init_to_restore is not None:
            self._dataloader.worker_init_fn = self._init_to_restore[0]
            self._init_to_restore = None
        if isinstance(batch, RngTaggedBatch):
            self._history.append((self.consumed, batch.rng))
            batch = batch.batch
        self.consumed += 1
        return batch

