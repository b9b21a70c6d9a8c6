"""Human parts reuse mmseg's CrossEntropyLoss: with ``avg_non_ignore=True``
it is the literature's CE (sum over pixels whose label is not 255, divided
by their count; ATRC/InvPT ``CrossEntropyLoss``)."""
import pytest
import torch
import torch.nn.functional as F

from mmmae.registry import MODELS


def test_mmseg_ce_with_avg_non_ignore_is_the_reference_mean():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 7, 4, 5, generator=g)
    label = torch.randint(0, 7, (2, 4, 5), generator=g)
    label[0, :2] = 255
    ref = F.cross_entropy(logits, label, ignore_index=255, reduction='none')
    ref = ref.sum() / (label != 255).sum()
    ce = MODELS.build(dict(type='mmseg.CrossEntropyLoss',
                           avg_non_ignore=True, loss_name='loss_parts'))
    assert ce(logits, label, ignore_index=255).item() == pytest.approx(
        ref.item(), rel=1e-6)
    # mmseg's default divides by every pixel, ignored ones included.
    plain = MODELS.build(dict(type='mmseg.CrossEntropyLoss'))
    assert plain(logits, label, ignore_index=255).item() == pytest.approx(
        ref.item() * 30 / 40, rel=1e-6)
