"""Capture and restore the process-global random number generators.

The states are stored as tensors, ints, floats and strings only, so a
checkpoint that holds them still loads with ``torch.load(weights_only=True)``
(mmmae's safe checkpoint loader) without adding numpy to the allowlist.

State layout (all CPU tensors)::

    dict(python=dict(version=int, internal=(625,) int64, gauss=float|None),
         numpy=dict(name=str, keys=(624,) int64, pos=int, has_gauss=int,
                    cached_gaussian=float),
         torch=(5056,) uint8,
         cuda=[(16,) uint8 per device] | None)
"""
import random
from typing import Optional

import numpy as np
import torch

__all__ = ['get_rng_state', 'set_rng_state']


def get_rng_state(cuda: bool = True) -> dict:
    """Return the python, numpy, torch (and CUDA) RNG states of this process.

    Args:
        cuda (bool): Include the CUDA generators when CUDA has been
            initialised in this process. Defaults to True.
    """
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    cuda_states: Optional[list] = None
    if cuda and torch.cuda.is_available() and torch.cuda.is_initialized():
        cuda_states = [s.clone() for s in torch.cuda.get_rng_state_all()]
    return dict(
        python=dict(
            version=version,
            internal=torch.tensor(internal, dtype=torch.int64),
            gauss=gauss),
        numpy=dict(
            name=str(name),
            # uint32 keys fit int64 exactly.
            keys=torch.from_numpy(keys.astype(np.int64)),
            pos=int(pos),
            has_gauss=int(has_gauss),
            cached_gaussian=float(cached)),
        torch=torch.get_rng_state(),
        cuda=cuda_states)


def set_rng_state(state: dict) -> None:
    """Restore states returned by :func:`get_rng_state`.

    CUDA states are restored only when the process sees as many devices as
    were saved; otherwise they are left as they are (the caller may warn).

    Raises:
        KeyError: ``state`` lacks one of ``python``, ``numpy``, ``torch``.
    """
    missing = [k for k in ('python', 'numpy', 'torch') if k not in state]
    if missing:
        raise KeyError(f'RNG state lacks {missing}; found {sorted(state)}')
    py = state['python']
    random.setstate((py['version'], tuple(int(v) for v in py['internal']),
                     py['gauss']))
    np_state = state['numpy']
    np.random.set_state(
        (np_state['name'], np_state['keys'].numpy().astype(np.uint32),
         np_state['pos'], np_state['has_gauss'],
         np_state['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    cuda_states = state.get('cuda')
    if cuda_states and torch.cuda.is_available() and \
            torch.cuda.device_count() == len(cuda_states):
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda_states])


def cuda_state_restorable(state: dict) -> bool:
    """Whether :func:`set_rng_state` can restore the saved CUDA states."""
    cuda_states = state.get('cuda')
    return not cuda_states or (torch.cuda.is_available() and
                               torch.cuda.device_count() == len(cuda_states))
