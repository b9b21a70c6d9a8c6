"""Activation checkpointing of a model's blocks (``with_cp``).

A checkpointed block keeps only its input for the backward pass and runs its
forward again there, trading about one extra forward of the block for its
activations. mmmae uses the non-reentrant variant
(``torch.utils.checkpoint.checkpoint(..., use_reentrant=False)``) only: it
handles a block whose input needs no grad while its weights do (LoRA on a
frozen backbone), inputs that need grad while no weight does (prompts on a
frozen backbone), keyword and non-tensor arguments (layouts, prompt
contexts), and tensors a block leaves in a cache for later (MTLoRA's
per-task features). The RNG state is restored for the recomputation, so
dropout and drop-path draw the same masks as in the first forward.
"""
from typing import Callable

import torch
from torch.utils.checkpoint import checkpoint


def checkpoint_call(enabled: bool, fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)``, checkpointed when ``enabled`` and autograd
    records (under ``torch.no_grad`` there is nothing to save)."""
    if enabled and torch.is_grad_enabled():
        return checkpoint(fn, *args, use_reentrant=False, **kwargs)
    return fn(*args, **kwargs)


def check_with_cp(owner: str, num_blocks: int, what: str = 'blocks') -> None:
    """Raise if ``with_cp=True`` is asked of a model with nothing to
    checkpoint: it would silently save no memory.

    Args:
        owner (str): The class (and arch) named in the error.
        num_blocks (int): How many blocks ``with_cp`` would checkpoint.
        what (str): What those blocks are called, for the message.
    """
    if num_blocks < 1:
        raise ValueError(
            f'{owner}: with_cp=True checkpoints each of its {what}, but it '
            f'has none ({num_blocks}); set with_cp=False or give it {what}')
