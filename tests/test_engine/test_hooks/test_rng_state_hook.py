"""RngStateHook, the RNG state helpers and worker RNG continuity."""
import io
import logging
import random
from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import InfiniteSampler, pseudo_collate
from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn
from mmengine.runner.loops import _InfiniteDataloaderIterator
from torch.utils.data import DataLoader, Dataset

from mmmae.engine.hooks import RngStateHook
from mmmae.engine.worker_rng import WorkerRngTracker
from mmmae.utils.rng_state import get_rng_state, set_rng_state


def _draw():
    return (random.random(), float(np.random.rand()),
            torch.rand(3).tolist())


def test_rng_state_round_trip_through_weights_only_load():
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.randn()  # leaves a cached gaussian in numpy's state
    state = get_rng_state()
    expected = _draw()
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    _draw()
    set_rng_state(loaded)
    assert _draw() == expected


def test_set_rng_state_names_missing_key():
    state = get_rng_state()
    del state['numpy']
    with pytest.raises(KeyError, match='numpy'):
        set_rng_state(state)


class _Loop:

    def __init__(self, dataloader):
        self.dataloader = dataloader
        self.dataloader_iterator = _InfiniteDataloaderIterator(dataloader)


def _runner(loop, iter=0, seed=0):
    logger = logging.getLogger('test_rng_state_hook')
    return SimpleNamespace(
        train_loop=loop, iter=iter, seed=seed, logger=logger,
        cfg=Config(dict(randomness=dict(seed=seed))))


def test_checkpoint_holds_states_and_validation_is_neutral():
    hook = RngStateHook()
    runner = _runner(_Loop(DataLoader(list(range(4)), batch_size=2)))
    hook.before_train(runner)
    torch.manual_seed(0)
    state = get_rng_state()
    expected = _draw()

    set_rng_state(state)
    hook.before_val(runner)
    _draw()  # validation draws, e.g. its dataloader iterator's seed
    ckpt = {}
    hook.before_save_checkpoint(runner, ckpt)  # a save_best inside val
    hook.after_val(runner)
    assert _draw() == expected
    # The saved streams are the training ones, not validation's.
    set_rng_state(ckpt['rng_state']['main'])
    assert _draw() == expected
    assert ckpt['rng_state']['workers'] is None  # num_workers=0


def test_restores_on_resume_only():
    torch.manual_seed(5)
    saved = dict(main=get_rng_state(), workers=None)
    expected = _draw()
    meta = dict(meta=dict(iter=4), rng_state=saved)

    # load_from: the run starts at iteration 0 and keeps its own streams.
    hook = RngStateHook()
    runner = _runner(_Loop(DataLoader(list(range(4)), batch_size=2)))
    hook.after_load_checkpoint(runner, meta)
    hook.before_train(runner)
    torch.manual_seed(6)
    hook.before_train_epoch(runner)
    assert _draw() != expected

    # resume: runner.iter is the checkpoint's iteration.
    hook = RngStateHook()
    runner = _runner(_Loop(DataLoader(list(range(4)), batch_size=2)), iter=4)
    hook.after_load_checkpoint(runner, meta)
    hook.before_train(runner)
    torch.manual_seed(6)
    hook.before_train_epoch(runner)
    assert _draw() == expected


def test_train_dataloader_iterator_does_not_draw_from_global_rng():
    hook = RngStateHook()
    dataloader = DataLoader(list(range(4)), batch_size=2)
    hook.before_train(_runner(_Loop(dataloader), seed=3))
    torch.manual_seed(0)
    expected = torch.rand(1)
    torch.manual_seed(0)
    iter(dataloader)
    assert torch.equal(torch.rand(1), expected)


class _RandomAugDataset(Dataset):
    """Each item is drawn from the worker's python, numpy and torch RNGs,
    as random augmentations are."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return (i, random.random(), float(np.random.rand()),
                float(torch.rand(1)))


def _loader(num_workers, seed=7):
    # As mmengine's Runner.build_dataloader builds it.
    return DataLoader(
        _RandomAugDataset(),
        batch_size=2,
        sampler=InfiniteSampler(_RandomAugDataset(), shuffle=True, seed=seed),
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        collate_fn=pseudo_collate,
        worker_init_fn=partial(
            mmengine_worker_init_fn, num_workers=num_workers, rank=0,
            seed=seed))


def _batches(tracker, n):
    return [next(tracker) for _ in range(n)]


@pytest.mark.parametrize('num_workers,k', [(2, 4), (3, 4), (3, 1)])
def test_workers_continue_their_streams_after_resume(num_workers, k):
    total = 9
    loader = _loader(num_workers)
    full = WorkerRngTracker(_InfiniteDataloaderIterator(loader), loader)
    reference = _batches(full, total)

    loader = _loader(num_workers)
    first = WorkerRngTracker(_InfiniteDataloaderIterator(loader), loader)
    head = _batches(first, k)
    saved = first.state_dict()
    assert len(saved['states']) == min(k, num_workers)

    loader = _loader(num_workers)
    resumed = WorkerRngTracker(_InfiniteDataloaderIterator(loader), loader)
    assert resumed.load_state_dict(saved, k)
    resumed.skip_iter(k)
    assert head + _batches(resumed, total - k) == reference
    # The wrapped worker_init_fn served the first workers only.
    assert isinstance(loader.worker_init_fn, partial)

    # Without the states, the workers restart from their seeds.
    loader = _loader(num_workers)
    fresh = WorkerRngTracker(_InfiniteDataloaderIterator(loader), loader)
    fresh.skip_iter(k)
    assert _batches(fresh, total - k) != reference[k:]


def test_worker_states_for_another_worker_count_are_refused():
    loader = _loader(2)
    tracker = WorkerRngTracker(_InfiniteDataloaderIterator(loader), loader)
    _batches(tracker, 3)
    saved = tracker.state_dict()
    loader = _loader(3)
    other = WorkerRngTracker(_InfiniteDataloaderIterator(loader), loader)
    assert not other.load_state_dict(saved, 3)
