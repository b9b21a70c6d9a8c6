import torch

from mmmae.models.layers import TokenLayout, build_2d_sincos_pos_embed, resize_pos_embed


def test_layout_slices_cover_the_sequence_in_order():
    layout = TokenLayout.build({'rgb': (2, 3), 'depth': (2, 3)}, num_global=1)
    assert layout.modalities == {'rgb': slice(0, 6), 'depth': slice(6, 12)}
    assert layout.global_slice == slice(12, 13)
    assert layout.num_tokens == 13

    prompted = layout.with_prompts({'shared': 4, 'depth': 2})
    assert prompted.prompts == {'shared': slice(0, 4), 'depth': slice(4, 6)}
    assert prompted.modalities == {'rgb': slice(6, 12), 'depth': slice(12, 18)}
    assert prompted.patch_slice == slice(6, 18)
    assert prompted.global_slice == slice(18, 19)

    # Replacing prompts with fewer tokens shifts everything back.
    again = prompted.with_prompts({'shared': 1})
    assert again.modalities['rgb'] == slice(1, 7)
    assert again.num_tokens == 14


def test_sincos_table_is_distinct_per_position_and_resizes():
    table = build_2d_sincos_pos_embed(32, (4, 5))
    assert table.shape == (1, 32, 4, 5)
    flat = table.flatten(2)[0].t()  # hw D
    assert torch.unique(flat, dim=0).shape[0] == 20
    assert resize_pos_embed(table, (4, 5)) is table
    assert resize_pos_embed(table, (8, 3)).shape == (1, 32, 8, 3)
