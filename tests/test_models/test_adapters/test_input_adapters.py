import pytest
import torch

from mmmae.models.adapters import PatchedInputAdapter, SemSegInputAdapter


def test_patched_adapter_tokens_and_positions():
    adapter = PatchedInputAdapter(3, embed_dims=32, patch_size=16,
                                  image_size=64, name='rgb')
    x = torch.zeros(2, 3, 32, 48)
    tokens, grid = adapter(x)
    assert grid == (2, 3) and tokens.shape == (2, 6, 32)
    # A zero image leaves bias + positions: tokens differ by position only.
    assert not torch.allclose(tokens[:, 0], tokens[:, 1])


@pytest.mark.parametrize('shape,match', [((2, 1, 32, 32), r'\(B, 3, H, W\)'),
                                         ((2, 3, 30, 32), '30x32')])
def test_patched_adapter_errors_name_the_problem(shape, match):
    adapter = PatchedInputAdapter(3, embed_dims=32, name='rgb')
    with pytest.raises(ValueError, match=match):
        adapter(torch.zeros(shape))


def test_semseg_adapter_grid_matches_rgb_and_embeds_ignore():
    adapter = SemSegInputAdapter(num_classes=5, embed_dims=32, image_size=64)
    labels = torch.randint(0, 5, (2, 8, 12))
    labels[0, 0, 0] = 255
    tokens, grid = adapter(labels)
    assert grid == (2, 3) and tokens.shape == (2, 6, 32)
    with pytest.raises(ValueError, match='label 7'):
        adapter(torch.full((1, 8, 8), 7))


def test_pos_embed_resized_on_load():
    small = PatchedInputAdapter(1, embed_dims=32, image_size=32)
    big = PatchedInputAdapter(1, embed_dims=32, image_size=64)
    big.load_state_dict(small.state_dict())
    assert big.pos_embed.shape == (1, 32, 4, 4)
    wrong = PatchedInputAdapter(1, embed_dims=16, image_size=32).state_dict()
    wrong['proj.weight'] = small.proj.weight  # only pos_embed mismatches
    wrong['proj.bias'] = small.proj.bias
    with pytest.raises(ValueError, match='pos_embed'):
        big.load_state_dict(wrong)
