"""Task affinity measures: gradient cosine and TAG's look-ahead affinity."""
import numpy as np
import pytest
import torch

from mmmae.engine.task_affinity import (AffinityMeter, gradient_cosine,
                                        lookahead_affinity)
from mmmae.engine.task_grouping import group_tasks

C = torch.tensor([1., -2., 0.5])


def quadratic_tasks():
    """L_t(theta) = 0.5 ||theta - c_t||^2 at theta = 0:

    'same' and 'twin' pull theta towards C (identical gradients), 'anti'
    towards -C (the opposite gradient).
    """
    theta = torch.nn.Parameter(torch.zeros(3))
    targets = dict(same=C, twin=C, anti=-C)

    def losses():
        return {t: 0.5 * (theta - c).pow(2).sum() for t, c in
                targets.items()}

    return theta, losses


def test_lookahead_affinity_known_answer():
    theta, losses_fn = quadratic_tasks()
    losses = losses_fn()
    grads = {t: torch.autograd.grad(v, [theta]) for t, v in losses.items()}
    lr = 0.1
    base = {t: float(v.detach()) for t, v in losses.items()}
    z = lookahead_affinity([theta], [theta.detach().clone()], grads, base,
                           losses_fn, lr)
    # a step along -g_same = C scales (theta - C) by (1 - lr) for 'same'
    # and 'twin', and (theta + C) by (1 + lr) for 'anti':
    helps, hurts = 1 - (1 - lr)**2, 1 - (1 + lr)**2
    for i, j, want in [('same', 'same', helps), ('same', 'twin', helps),
                       ('twin', 'same', helps), ('same', 'anti', hurts),
                       ('anti', 'same', hurts), ('anti', 'twin', hurts),
                       ('anti', 'anti', helps)]:
        assert z[(i, j)] == pytest.approx(want, rel=1e-5), (i, j)
    assert helps > 0 > hurts
    # the parameters are back where they were
    assert torch.equal(theta.detach(), torch.zeros(3))
    # and the grouping puts the identical tasks together, the opposite alone
    meter = AffinityMeter(['same', 'anti', 'twin'])
    meter.update(z)
    groups = group_tasks(meter.mean(), meter.tasks)
    assert dict(groups) == {'group0': ['same', 'twin'], 'group1': ['anti']}


def test_gradient_cosine_known_answer():
    theta, losses_fn = quadratic_tasks()
    grads = {t: torch.autograd.grad(v, [theta])
             for t, v in losses_fn().items()}
    cos = gradient_cosine(grads, [theta])
    assert cos[('same', 'twin')] == pytest.approx(1.)
    assert cos[('same', 'anti')] == pytest.approx(-1.)
    assert cos[('anti', 'anti')] == pytest.approx(1.)


def test_lookahead_is_asymmetric_and_restores_on_error():
    """A task with a larger gradient helps a small one more than back."""
    theta = torch.nn.Parameter(torch.zeros(1))

    def losses():
        return dict(big=0.5 * 4. * (theta - 1.).pow(2).sum(),
                    small=0.5 * (theta - 1.).pow(2).sum())

    base = losses()
    grads = {t: torch.autograd.grad(v, [theta]) for t, v in base.items()}
    base = {t: float(v.detach()) for t, v in base.items()}
    z = lookahead_affinity([theta], [theta.detach().clone()], grads, base,
                           losses, 0.1)
    # big's step: theta = 0.4 -> small's loss ratio 0.36; small's step:
    # theta = 0.1 -> big's loss ratio 0.81
    assert z[('big', 'small')] == pytest.approx(0.64)
    assert z[('small', 'big')] == pytest.approx(0.19)

    def broken():
        raise RuntimeError('forward failed')

    with pytest.raises(RuntimeError, match='forward failed'):
        lookahead_affinity([theta], [theta.detach().clone()], grads, base,
                           broken, 0.1)
    assert torch.equal(theta.detach(), torch.zeros(1))
    with pytest.raises(ValueError, match='positive losses'):
        lookahead_affinity([theta], [theta.detach()], grads,
                           dict(big=0., small=1.), losses, 0.1)


def test_meter_averages_over_shared_steps_only():
    meter = AffinityMeter(['a', 'b'])
    meter.update({('a', 'a'): 1., ('a', 'b'): 0.2, ('b', 'a'): 0.4,
                  ('b', 'b'): 1.})
    meter.update({('a', 'b'): 0.6, ('a', 'a'): 1.})
    a = meter.mean()
    assert np.allclose(a, [[1., 0.4], [0.4, 1.]])
    assert meter.count.tolist() == [[2, 2], [1, 1]]
    lonely = AffinityMeter(['a', 'b'])
    lonely.update({('a', 'a'): 1.})
    with pytest.raises(RuntimeError, match=r"\('a', 'b'\)"):
        lonely.mean()
