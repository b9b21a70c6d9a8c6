import pytest
import torch

from mmmae.models.layers import TokenLayout
from mmmae.models.layers.token_readout import TokenReadout
from mmmae.registry import MODELS


def _tokens(grid=(2, 3), mods=('rgb', 'depth'), prompts=0, D=4):
    """Patch tokens whose value encodes (modality index, position, channel)
    and their layout, with ``prompts`` prompt tokens in front."""
    layout = TokenLayout.build({m: grid for m in mods})
    if prompts:
        layout = layout.with_prompts(dict(p=prompts))
    n = grid[0] * grid[1]
    patch = torch.stack([
        torch.arange(n * D, dtype=torch.float).reshape(n, D) + 100 * i
        for i in range(len(mods))
    ]).reshape(1, len(mods) * n, D)
    return patch, layout


def test_default_is_the_references_rgb_concat():
    ro = MODELS.build(dict(type='TokenReadout'))
    assert ro.modalities == ('rgb', ) and ro.mode == 'concat'
    patch, layout = _tokens()
    out = ro(patch, layout)
    assert out.shape == (1, 4, 2, 3)
    # rgb tokens only, row-major: position (1, 2) is token 5.
    assert torch.equal(out[0, :, 1, 2], patch[0, 5])


def test_concat_stacks_channels_in_the_given_order():
    patch, layout = _tokens()
    out = TokenReadout(('depth', 'rgb'))(patch, layout)
    assert out.shape == (1, 8, 2, 3)
    assert TokenReadout(('depth', 'rgb')).out_channels(4) == 8
    torch.testing.assert_close(out[0, :4, 0, 1], patch[0, 6 + 1])  # depth
    torch.testing.assert_close(out[0, 4:, 0, 1], patch[0, 1])  # rgb


def test_mean_of_present_modalities_is_the_old_behaviour():
    patch, layout = _tokens(prompts=3)
    out = TokenReadout(None, 'mean')(patch, layout)
    assert out.shape == (1, 4, 2, 3)
    want = (patch[0, :6] + patch[0, 6:]) / 2  # (hw, D)
    torch.testing.assert_close(out[0].flatten(1).T, want)
    # One modality: concat and mean read the same map.
    rgb, lay = _tokens(mods=('rgb', ))
    assert torch.equal(TokenReadout(('rgb', ))(rgb, lay),
                       TokenReadout(None, 'mean')(rgb, lay))


def test_bad_config_and_input_name_the_culprit():
    with pytest.raises(ValueError, match='mode "sum"'):
        TokenReadout(mode='sum')
    with pytest.raises(ValueError, match='explicit'):
        TokenReadout(None, 'concat')
    with pytest.raises(ValueError, match='distinct'):
        TokenReadout(('rgb', 'rgb'))
    patch, layout = _tokens(mods=('depth', ))
    with pytest.raises(KeyError, match=r"missing \['rgb'\]"):
        TokenReadout()(patch, layout)
    mixed = TokenLayout.build(dict(rgb=(2, 2), depth=(1, 2)))
    with pytest.raises(ValueError, match='different token grids'):
        TokenReadout(('rgb', 'depth'))(torch.zeros(1, 6, 4), mixed)
    # Reading one modality of a mixed-size input is fine.
    assert TokenReadout(('depth', ))(torch.zeros(1, 6, 4),
                                     mixed).shape == (1, 4, 1, 2)
