"""Per-step task affinities on shared parameters (input of task grouping).

At a warm-up step t with shared parameters theta_t, one batch X^t and the
per-task losses L_i (each task's mean loss over its images in the batch),
two measures are available:

- ``'cosine'``: gradient cosine similarity, symmetric::

      A_ij^t = cos(g_i, g_j),   g_i = dL_i(theta_t) / dtheta

- ``'lookahead'``: the look-ahead inter-task affinity of Fifty et al.
  ("Efficiently Identifying Task Groupings for Multi-Task Learning",
  NeurIPS 2021, TAG)::

      Z_{i->j}^t = 1 - L_j(X^t, theta_{t+1|i}) / L_j(X^t, theta_t)
      theta_{t+1|i} = theta_t - lr * g_i

  i.e. how much one step on task i's loss alone lowers task j's loss on the
  same batch (> 0: i helps j). Row i is the task that steps, column j the
  task that is measured; the matrix is not symmetric. The look-ahead step
  is plain SGD: TAG's paper writes the update of the model's optimizer, and
  its Taskonomy code re-implements an SGD-with-momentum step by hand; plain
  SGD keeps the measure independent of optimizer state (documented in
  docs/mmap.md).

Both are averaged over the steps where both tasks are in the batch
(:class:`AffinityMeter`). ``tools/analysis_tools/task_affinity.py`` runs
the warm-up; :mod:`mmmae.engine.task_grouping` turns the matrix into groups
(its score sums the affinity each task receives from its group mates, the
criterion of TAG's network selection restricted to disjoint groups).
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

AFFINITY_TYPES = ('cosine', 'lookahead')

FORMULAS = {
    'cosine': ('A_ij = mean over warm-up steps t of cos(g_i^t, g_j^t), '
               "g_i^t = gradient of task i's mean loss w.r.t. the shared "
               'prompt parameters at step t'),
    'lookahead': ('Z_ij = mean over warm-up steps t of 1 - L_j(theta_t - '
                  'lr * g_i^t) / L_j(theta_t) on the step-t batch (Fifty et '
                  'al., NeurIPS 2021); row i steps, column j is measured'),
}

Pairs = Dict[Tuple[str, str], float]
Grads = Dict[str, Sequence[Optional[Tensor]]]


def _flat(grads: Sequence[Optional[Tensor]],
          params: Sequence[Tensor]) -> Tensor:
    """One vector of a task's gradients; unused parameters count as 0."""
    return torch.cat([(g if g is not None else torch.zeros_like(p))
                      .reshape(-1) for g, p in zip(grads, params)])


def gradient_cosine(grads: Grads, params: Sequence[Tensor]) -> Pairs:
    """``{(i, j): cos(g_i, g_j)}`` for every ordered pair of tasks present.

    Args:
        grads (dict): task -> its gradients, one per parameter of
            ``params`` (None where unused).
        params (Sequence[Tensor]): The shared parameters.
    """
    flat = {t: _flat(g, params) for t, g in grads.items()}
    out: Pairs = {}
    for i in flat:
        for j in flat:
            out[(i, j)] = float(F.cosine_similarity(flat[i], flat[j], dim=0))
    return out


@torch.no_grad()
def lookahead_affinity(params: Sequence[Tensor],
                       theta: Sequence[Tensor],
                       grads: Grads,
                       base_losses: Dict[str, float],
                       loss_fn: Callable[[], Dict[str, Tensor]],
                       lr: float) -> Pairs:
    """``{(i, j): 1 - L_j(theta - lr g_i) / L_j(theta)}`` (TAG).

    Args:
        params (Sequence[Tensor]): The live shared parameters; they are set
            to each look-ahead in turn and restored to their values at the
            call afterwards.
        theta (Sequence[Tensor]): Their values at step t (the point where
            ``grads`` and ``base_losses`` were taken).
        grads (dict): task i -> gradients of L_i at ``theta``.
        base_losses (dict): task j -> L_j(theta) on the batch.
        loss_fn (callable): Returns task -> loss on the SAME batch at the
            current values of ``params``.
        lr (float): Look-ahead step size.

    Raises:
        ValueError: a base loss that is not positive (the ratio needs it).
    """
    if lr <= 0:
        raise ValueError(f'look-ahead lr must be > 0, got {lr}')
    for task, loss in base_losses.items():
        if not float(loss) > 0:
            raise ValueError(f'look-ahead affinity needs positive losses; '
                             f'task "{task}" has {float(loss)}')
    current = [p.detach().clone() for p in params]
    out: Pairs = {}
    try:
        for i, g_i in grads.items():
            for p, t, g in zip(params, theta, g_i):
                p.copy_(t if g is None else t - lr * g)
            after = loss_fn()
            for j, loss in after.items():
                if j in base_losses:
                    out[(i, j)] = 1. - float(loss) / float(base_losses[j])
    finally:
        for p, c in zip(params, current):
            p.copy_(c)
    return out


class AffinityMeter:
    """Mean of per-step pair affinities over the steps that had the pair.

    Args:
        tasks (Sequence[str]): Task names in matrix order.
    """

    def __init__(self, tasks: Sequence[str]):
        self.tasks: List[str] = list(tasks)
        T = len(self.tasks)
        self.total = np.zeros((T, T))
        self.count = np.zeros((T, T), dtype=np.int64)

    def update(self, pairs: Pairs) -> None:
        for (i, j), value in pairs.items():
            a, b = self.tasks.index(i), self.tasks.index(j)
            self.total[a, b] += value
            self.count[a, b] += 1

    def mean(self) -> np.ndarray:
        """(T, T) mean affinity; row i, column j as the pairs were keyed.

        Raises:
            RuntimeError: a pair that never shared a batch.
        """
        T = len(self.tasks)
        missing = [(self.tasks[a], self.tasks[b]) for a in range(T)
                   for b in range(T) if self.count[a, b] == 0]
        if missing:
            raise RuntimeError(
                f'task pairs {missing[:5]} never shared a batch; use more '
                'warm-up steps or a mixing sampler (MultiTaskMixedSampler)')
        return self.total / self.count
