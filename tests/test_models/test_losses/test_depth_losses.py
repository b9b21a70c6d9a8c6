import math

import pytest
import torch

from mmmae.models.losses import BerHuLoss, MultiMAESiLogLoss
from mmmae.registry import MODELS


def test_berhu_l1_below_c_and_quadratic_above():
    loss = BerHuLoss()
    gt = torch.ones(1, 1, 1, 3)
    pred = gt + torch.tensor([0.1, 0.5, 1.0]).view(1, 1, 1, 3)
    # c = 0.2 * 1.0 = 0.2: 0.1 is L1, 0.5 and 1.0 are (e^2 + c^2) / 2c.
    c = 0.2
    expected = (0.1 + (0.25 + c * c) / (2 * c) + (1 + c * c) / (2 * c)) / 3
    assert loss(pred, gt).item() == pytest.approx(expected, rel=1e-5)


def test_berhu_ignores_invalid_pixels_and_empty_batch():
    loss = BerHuLoss()
    gt = torch.tensor([[[[2.0, 0.0]]]])
    a = loss(torch.tensor([[[[2.5, 9.0]]]]), gt)
    b = loss(torch.tensor([[[[2.5, -3.0]]]]), gt)
    # One valid error e = 0.5, c = 0.1: (e^2 + c^2) / 2c = 1.3
    assert a.item() == pytest.approx(1.3) and a.item() == b.item()
    pred = torch.rand(2, 1, 4, 4, requires_grad=True)
    empty = loss(pred, torch.zeros(2, 1, 4, 4))
    empty.backward()
    assert empty.item() == 0 and torch.all(pred.grad == 0)


def test_berhu_shape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r'\(1, 1, 2, 2\)'):
        BerHuLoss()(torch.rand(1, 1, 2, 2), torch.rand(1, 1, 3, 3))


def test_silog_is_scale_invariant_with_lambda_one():
    gt = torch.rand(2, 1, 5, 5) + 0.5
    assert MultiMAESiLogLoss(lambd=1.0)(gt * 3.0, gt).item() == pytest.approx(
        0, abs=2e-3)
    # lambd 0.5: sqrt(log(k)^2 - 0.5 log(k)^2) = |log k| / sqrt(2)
    assert MultiMAESiLogLoss()(gt * 3.0, gt).item() == pytest.approx(
        math.log(3.0) / math.sqrt(2), rel=1e-4)


def test_silog_image_without_valid_pixels_gives_finite_grads():
    gt = torch.rand(2, 1, 4, 4) + 0.5
    gt[1] = 0  # no valid pixel in the second image
    pred = (torch.rand(2, 1, 4, 4) + 0.5).requires_grad_()
    loss = MultiMAESiLogLoss()(pred, gt)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(pred.grad).all()
    assert torch.all(pred.grad[1] == 0)
    # Only the first image counts.
    alone = MultiMAESiLogLoss()(pred[:1].detach(), gt[:1])
    assert loss.item() == pytest.approx(alone.item(), rel=1e-5)


def test_losses_build_from_registry_with_names():
    berhu = MODELS.build(dict(type='BerHuLoss', loss_weight=2.0))
    silog = MODELS.build(dict(type='MultiMAESiLogLoss', loss_name='loss_si'))
    assert berhu.loss_name == 'loss_berhu' and silog.loss_name == 'loss_si'
    gt = torch.full((1, 1, 2, 2), 2.0)
    # every error is 1 = max > c = 0.2: (1 + 0.04) / 0.4 = 2.6, weighted x2
    assert berhu(gt + 1, gt).item() == pytest.approx(2.0 * 2.6)
