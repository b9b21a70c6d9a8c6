"""The generated sin-cos table equals MultiMAE's ``build_2d_sincos_posemb``.

The expected tables in ``tests/data/multimae_sincos_posemb.json`` were
generated once from EPFL-VILAB/MultiMAE ``multimae/multimae_utils.py``
(commit 66910f5b5ba236f5e731883db85fe4f24ee01106); the file names both.
"""
import json
from pathlib import Path

import pytest
import torch

from mmmae.models.layers import build_2d_sincos_pos_embed

FIXTURE = Path(__file__).parents[2] / 'data' / 'multimae_sincos_posemb.json'


def _reference_tables():
    doc = json.loads(FIXTURE.read_text())
    assert '66910f5b' in doc['source']
    return doc['tables']


@pytest.mark.parametrize('ref', _reference_tables(),
                         ids=lambda r: f"{r['h']}x{r['w']}-d{r['embed_dims']}")
def test_table_equals_the_reference(ref):
    h, w, dims = ref['h'], ref['w'], ref['embed_dims']
    expected = torch.tensor(ref['table']).reshape(1, dims, h, w)
    table = build_2d_sincos_pos_embed(dims, (h, w))
    assert table.shape == expected.shape
    torch.testing.assert_close(table, expected, atol=1e-6, rtol=0)


def test_first_channels_encode_the_row():
    """Quarters: sin(row), cos(row), sin(col), cos(col), on any grid."""
    table = build_2d_sincos_pos_embed(16, (3, 5))[0]  # D h w
    # Row channels vary along h only; column channels along w only.
    assert torch.equal(table[:8], table[:8, :, :1].expand(-1, -1, 5))
    assert torch.equal(table[8:], table[8:, :1, :].expand(-1, 3, -1))
    # The lowest frequency is 1, so channel 0 is sin(row).
    assert torch.allclose(table[0, :, 0], torch.arange(3.).sin())
    assert torch.allclose(table[8, 0, :], torch.arange(5.).sin())


def test_rejects_dims_not_divisible_by_four():
    with pytest.raises(ValueError, match='embed_dims divisible by 4, got 30'):
        build_2d_sincos_pos_embed(30, (2, 2))
