from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs/prompt/' \
    'mtprompt_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py'


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool(
        'tools/analysis_tools/save_init_checkpoint.py', 'save_init_ckpt')


def test_untrained_checkpoint_is_the_seeded_initial_model(tmp_path, tool):
    a, b = tmp_path / 'a.pth', tmp_path / 'b.pth'
    tool.main([str(CONFIG), str(a)])
    tool.main([str(CONFIG), str(b)])
    sa = torch.load(a, weights_only=True)['state_dict']
    sb = torch.load(b, weights_only=True)['state_dict']
    assert sa.keys() == sb.keys()
    assert any(k.startswith('backbone.') for k in sa)
    assert any(k.startswith('decode_heads.') for k in sa)
    for key in sa:
        torch.testing.assert_close(sa[key], sb[key], rtol=0, atol=0)
    # A different seed gives a different model, so the seed is what ties it.
    c = tmp_path / 'c.pth'
    tool.main([str(CONFIG), str(c), '--cfg-options', 'randomness.seed=1'])
    sc = torch.load(c, weights_only=True)['state_dict']
    assert any(not torch.equal(sa[k], sc[k]) for k in sa
               if sa[k].is_floating_point())
