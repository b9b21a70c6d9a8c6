import json
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(ROOT, 'configs')
SEG_TINY = 'multimae/multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py'


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis_tools/get_flops.py')


def _leaves_sum(result):
    leaves = [r for r in result['rows'] if r['leaf']]
    return (sum(r['macs'] for r in leaves), sum(r['params'] for r in leaves))


@pytest.mark.parametrize('config,options,backbone', [
    (SEG_TINY, [], 'backbone'),
    ('prompt/vpt-deep_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py', [],
     'backbone'),
    ('peft/lora_multimae-tiny_r4_depth-seg_1xb8-300i_nyuv2synth-64x64.py', [],
     'backbone'),
    ('multimae/multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py', [],
     'backbone'),
    ('mmap/mmap-mt_clip-tiny_l2d2_1xb16-300i_toy-multidomain-32.py',
     ['--cfg-options', 'model.prompt.grouping_file=None'], 'vision_encoder'),
])
def test_every_model_family(config, options, backbone, tmp_path, tool):
    out = tmp_path / 'flops.json'
    result = tool.main([osp.join(CONFIGS, config), '--max-depth', '2',
                        '--out', str(out)] + options)
    assert result['macs'] > 0 and result['flops'] == 2 * result['macs']
    # Attention is counted, and the encoder's work lands on the encoder.
    assert result['attention_macs'] > 0
    rows = {r['name']: r for r in result['rows']}
    assert rows['']['macs'] == result['macs']
    assert 0 < rows[backbone]['macs'] < result['macs']
    assert _leaves_sum(result) == (result['macs'], result['params'])
    assert json.loads(out.read_text())['macs'] == result['macs']


def test_vit_block_matches_hand_formula(tool):
    result = tool.main([osp.join(CONFIGS, SEG_TINY), '--shape', '64', '96',
                        '--max-depth', '3'])
    assert result['inputs'] == {'rgb': [1, 3, 64, 96]}
    from mmengine.config import Config

    from mmmae.registry import MODELS
    model = MODELS.build(Config.fromfile(osp.join(CONFIGS, SEG_TINY)).model)
    vit = model.backbone
    D, p = vit.embed_dims, vit.patch_size
    N = (64 // p) * (96 // p) + vit.num_global_tokens
    hidden = vit.blocks[0].mlp.fc1.out_features
    # qkv, QK^T, AV, out projection, MLP.
    block = N * D * 3 * D + 2 * N * N * D + N * D * D + 2 * N * D * hidden
    rows = {r['name']: r for r in result['rows']}
    for i in range(vit.num_layers):
        assert rows[f'backbone.blocks.{i}']['macs'] == block
    assert rows['backbone.blocks']['macs'] == vit.num_layers * block
    assert result['attention_macs'] == vit.num_layers * 2 * N * N * D
    # Per-module rows sum to their parent, and the table to the total.
    for name, row in rows.items():
        if name.endswith('(own)') or row['leaf']:
            continue
        children = [r for r in result['rows']
                    if r['depth'] == row['depth'] + 1 and (
                        r['name'].startswith(f'{name}.') if name else True)
                    and not r['name'].endswith('(own)')]
        own = [r for r in result['rows']
               if r['name'] == f'{name or "MultiTaskSegmentor"} (own)']
        assert sum(r['macs'] for r in children + own) == row['macs'], name
    assert _leaves_sum(result) == (result['macs'], result['params'])


def test_report_labels_macs_and_flops(capsys, tool):
    tool.main([osp.join(CONFIGS, SEG_TINY), '--max-depth', '1'])
    text = capsys.readouterr().out
    assert 'MACs:' in text and 'FLOPs:' in text and '= 2 x MACs' in text
    assert 'Not counted' in text and 'attention' in text
    assert 'backbone' in text and 'decode_heads' in text


def test_bad_shape_is_rejected(tool):
    with pytest.raises(SystemExit):
        tool.parse_args([osp.join(CONFIGS, SEG_TINY), '--shape', '1', '2',
                         '3'])
