import math

import pytest
import torch

from mmmae.models.losses import NormalsL1Loss
from mmmae.registry import MODELS


def _gt(B=1, H=2, W=2):
    gt = torch.zeros(B, 3, H, W)
    gt[:, 2] = 1.0  # every pixel faces +z
    return gt


def test_prediction_is_normalised_before_the_l1():
    gt = _gt()
    # Any positive multiple of the ground truth costs nothing.
    assert NormalsL1Loss()(gt * 7.5, gt).item() == pytest.approx(0, abs=1e-6)
    # (1, 0, 1) / sqrt2 against (0, 0, 1): |.7071| + |.7071 - 1| per pixel.
    pred = torch.zeros_like(gt)
    pred[:, 0] = 1.0
    pred[:, 2] = 1.0
    s = 1 / math.sqrt(2)
    assert NormalsL1Loss()(pred, gt).item() == pytest.approx(s + (1 - s),
                                                            rel=1e-6)


def test_mean_is_over_valid_pixels_of_the_channel_sum():
    gt = _gt(H=1, W=4)
    pred = -gt.clone()  # opposite: L1 = 2 per pixel (summed over channels)
    gt[0, :, 0, 1] = 255  # ignored (the reference's ignore value)
    gt[0, :, 0, 2] = 0  # zero norm: ignored (AddIgnoreRegions)
    gt[0, 0, 0, 3] = 255  # one channel at 255 is enough to ignore
    pred[0, :, 0, 1:] = torch.randn(3, 3)  # whatever is predicted there
    # Only pixel 0 counts: 2 / 1 (elementwise-mean would give 2 / 3).
    assert NormalsL1Loss()(pred, gt).item() == pytest.approx(2.0)


def test_valid_mask_and_empty_batch_keep_the_graph():
    gt = _gt(B=2)
    pred = torch.randn(2, 3, 2, 2, requires_grad=True)
    mask = torch.zeros(2, 2, 2, dtype=torch.bool)
    loss = NormalsL1Loss(loss_weight=10.)(pred, gt, valid_mask=mask)
    loss.backward()
    assert loss.item() == 0 and torch.all(pred.grad == 0)
    # Masking one image equals evaluating the other alone.
    mask[0] = True
    both = NormalsL1Loss()(pred.detach(), gt, valid_mask=mask)
    alone = NormalsL1Loss()(pred.detach()[:1], gt[:1])
    assert both.item() == pytest.approx(alone.item(), rel=1e-6)


def test_bad_shapes_name_the_shapes():
    with pytest.raises(ValueError, match=r'\(1, 1, 2, 2\)'):
        NormalsL1Loss()(torch.rand(1, 1, 2, 2), torch.rand(1, 1, 2, 2))
    with pytest.raises(ValueError, match=r'\(1, 3, 3, 3\)'):
        NormalsL1Loss()(torch.rand(1, 3, 2, 2), torch.rand(1, 3, 3, 3))


def test_builds_from_registry():
    loss = MODELS.build(dict(type='NormalsL1Loss', loss_weight=10.))
    assert loss.loss_name == 'loss_normals' and loss.loss_weight == 10.
