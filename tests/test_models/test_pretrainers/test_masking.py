import pytest
import torch

from mmmae.models.pretrainers import DirichletMasking
from mmmae.registry import MODELS

NUM_TOKENS = {'rgb': 16, 'depth': 16, 'semseg': 16}


def test_exactly_k_visible_tokens_per_sample():
    torch.manual_seed(0)
    masking = MODELS.build(dict(type='DirichletMasking',
                                num_encoded_tokens=8))
    out = masking(NUM_TOKENS, batch_size=64)
    visible = (1 - out.mask).sum(1)
    assert torch.equal(visible, torch.full((64, ), 8))
    assert out.ids_keep.shape == (64, 8)
    # ids_keep names exactly the visible tokens.
    kept = torch.zeros_like(out.mask).scatter_(1, out.ids_keep, 1)
    assert torch.equal(kept, 1 - out.mask)
    assert list(out.masks) == list(NUM_TOKENS)
    assert all(m.shape == (64, 16) for m in out.masks.values())


def test_per_modality_counts_follow_the_shares():
    torch.manual_seed(1)
    masking = DirichletMasking(num_encoded_tokens=12)
    out = masking(NUM_TOKENS, batch_size=256)
    counts = torch.stack([(1 - m).sum(1) for m in out.masks.values()], 1)
    assert torch.allclose(out.shares.sum(1), torch.ones(256))
    expected = (out.shares * 12).round().long().clamp(max=16)
    assert torch.equal(out.budget, expected)
    total = expected.sum(1)
    exact = total == 12
    assert exact.any()
    # When the rounded budgets add up to K, every modality gets its budget.
    assert torch.equal(counts[exact], expected[exact])
    # Otherwise the re-sort only trims chosen tokens or adds unchosen ones.
    over, under = total > 12, total < 12
    assert (counts[over] <= expected[over]).all()
    assert (counts[under] >= expected[under]).all()
    # Shares really vary between samples (Dirichlet, not a fixed split).
    assert counts.float().std(0).min() > 1


def test_restore_indices_invert_the_shuffle():
    torch.manual_seed(2)
    out = DirichletMasking(num_encoded_tokens=10)(NUM_TOKENS, batch_size=4)
    N = sum(NUM_TOKENS.values())
    tokens = torch.arange(N).expand(4, -1)
    ids_shuffle = out.ids_restore.argsort(1)
    assert torch.equal(ids_shuffle[:, :10], out.ids_keep)
    shuffled = torch.gather(tokens, 1, ids_shuffle)
    restored = torch.gather(shuffled, 1, out.ids_restore)
    assert torch.equal(restored, tokens)
    # Visible first, masked after: the decoder's cat([visible, mask]) order.
    assert (torch.gather(out.mask, 1, ids_shuffle)[:, :10] == 0).all()
    assert (torch.gather(out.mask, 1, ids_shuffle)[:, 10:] == 1).all()


def test_sample_tasks_uniformly_leaves_modalities_out():
    torch.manual_seed(3)
    masking = DirichletMasking(num_encoded_tokens=12,
                               sample_tasks_uniformly=True)
    out = masking(NUM_TOKENS, batch_size=512)
    counts = torch.stack([(1 - m).sum(1) for m in out.masks.values()], 1)
    empty = (counts == 0).sum(1)
    # With 7 non-empty subsets, 3 of them of a single modality, many samples
    # encode only one or two modalities; never zero tokens in total.
    assert (empty == 2).float().mean() > 0.25
    assert (empty == 1).float().mean() > 0.25
    assert (counts.sum(1) == 12).all()
    plain = DirichletMasking(num_encoded_tokens=12)(NUM_TOKENS, 512)
    plain_counts = torch.stack([(1 - m).sum(1) for m in plain.masks.values()],
                               1)
    assert (plain_counts == 0).sum(1).eq(2).float().mean() < 0.1


def test_alpha_per_modality():
    torch.manual_seed(4)
    masking = DirichletMasking(num_encoded_tokens=12,
                               alpha=dict(rgb=50., depth=1e-3, semseg=1e-3))
    out = masking(NUM_TOKENS, batch_size=64)
    assert out.shares[:, 0].mean() > 0.9
    with pytest.raises(KeyError, match='semseg'):
        DirichletMasking(4, alpha=dict(rgb=1.))({'semseg': 4, 'rgb': 4}, 2)


def test_too_many_encoded_tokens_is_a_clear_error():
    masking = DirichletMasking(num_encoded_tokens=49)
    with pytest.raises(ValueError, match=r'num_encoded_tokens=49.*48 tokens'):
        masking(NUM_TOKENS, batch_size=2)
    with pytest.raises(ValueError, match='at least 1'):
        DirichletMasking(num_encoded_tokens=0)
    # All tokens visible is allowed.
    out = DirichletMasking(num_encoded_tokens=48)(NUM_TOKENS, 2)
    assert out.mask.sum() == 0
