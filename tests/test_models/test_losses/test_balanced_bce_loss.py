import math

import pytest
import torch
import torch.nn.functional as F

from mmmae.models.losses import BalancedBinaryCrossEntropyLoss
from mmmae.registry import MODELS


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, 1, 5, 6, generator=g)
    label = (torch.rand(2, 1, 5, 6, generator=g) > 0.7).float()
    label[0, 0, 0, :3] = 255  # ignored pixels
    return logits, label


def test_fixed_weight_is_bce_with_pos_weight_rescaled():
    """The boundary recipe: BCE(pos_weight = w / (1 - w)) * (1 - w) over
    the valid pixels, w = 0.95."""
    logits, label = _batch()
    valid = label != 255
    w = 0.95
    ref = F.binary_cross_entropy_with_logits(
        logits[valid], label[valid],
        pos_weight=torch.tensor(w / (1 - w))) * (1 - w)
    ours = BalancedBinaryCrossEntropyLoss()(logits, label)
    assert ours.item() == pytest.approx(ref.item(), rel=1e-5)


def test_hand_computed_value():
    # One positive at logit 0 and one negative at logit 0, w = 0.95:
    # (0.95 * log2 + 0.05 * log2) / 2
    loss = BalancedBinaryCrossEntropyLoss(pos_weight=0.95)
    value = loss(torch.zeros(1, 1, 1, 2), torch.tensor([[[[1., 0.]]]]))
    assert value.item() == pytest.approx(math.log(2) / 2, rel=1e-6)


def test_batch_balanced_weight_is_class_weighted_two_channel_ce():
    """The saliency recipe: 2-channel CE with class weights (1 - w, w),
    w = share of negatives, summed and divided by the valid count; a
    1-channel logit z1 - z0 gives the same loss."""
    logits, label = _batch(1)
    two = torch.cat([torch.zeros_like(logits), logits], dim=1)
    target = label[:, 0].long()
    valid = target != 255
    w = (target[valid] == 0).float().mean()
    ref = F.cross_entropy(two, target, weight=torch.stack([1 - w, w]),
                          ignore_index=255, reduction='none')
    ref = ref.sum() / valid.sum()
    loss = BalancedBinaryCrossEntropyLoss(pos_weight=None)
    assert loss(two, label).item() == pytest.approx(ref.item(), rel=1e-5)
    assert loss(logits, label).item() == pytest.approx(ref.item(), rel=1e-5)
    # A shifted pair of channels is the same prediction.
    assert loss(two + 3.0, label).item() == pytest.approx(ref.item(),
                                                         rel=1e-5)


def test_no_positive_or_no_valid_pixel_gives_zero_with_a_graph():
    loss = BalancedBinaryCrossEntropyLoss(pos_weight=None)
    pred = torch.randn(1, 1, 3, 3, requires_grad=True)
    # No positive: HED weight w = 1 puts all weight on positives -> 0.
    assert loss(pred, torch.zeros(1, 1, 3, 3)).item() == 0
    empty = loss(pred, torch.full((1, 1, 3, 3), 255.))
    empty.backward()
    assert empty.item() == 0 and torch.all(pred.grad == 0)


def test_ignore_index_from_the_head_and_3d_labels():
    logits, label = _batch(2)
    label[label == 255] = 7
    a = BalancedBinaryCrossEntropyLoss()(logits, label[:, 0].long(),
                                         ignore_index=7)
    b = BalancedBinaryCrossEntropyLoss(ignore_index=7)(logits, label)
    assert a.item() == pytest.approx(b.item())


def test_bad_input_is_named():
    loss = BalancedBinaryCrossEntropyLoss()
    with pytest.raises(ValueError, match=r'\(1, 3, 2, 2\)'):
        loss(torch.rand(1, 3, 2, 2), torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match='in \\[0, 1\\]'):
        loss(torch.rand(1, 1, 2, 2), torch.full((1, 1, 2, 2), 2.))
    with pytest.raises(ValueError, match='pos_weight'):
        BalancedBinaryCrossEntropyLoss(pos_weight=1.5)


def test_builds_from_registry():
    loss = MODELS.build(dict(type='BalancedBinaryCrossEntropyLoss',
                             pos_weight=None, loss_name='loss_sal'))
    assert loss.pos_weight is None and loss.loss_name == 'loss_sal'
