"""tools/misc/print_config.py: the whole config through mmmae's
load_config, saved atomically in the format the file name asks for."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmmae.utils import ConfigKeyError, ConfigNotFoundError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'print_config.py')
CONFIG = osp.join(REPO, 'configs', 'multimae',
                  'multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/misc/print_config.py')


def test_prints_and_saves_the_whole_config(tmp_path, capsys, tool):
    saved = tmp_path / 'full.py'
    cfg = tool.main([CONFIG, '--cfg-options', 'train_cfg.max_iters=7',
                     '--save-path', str(saved)])
    out = capsys.readouterr().out
    assert out.startswith('Config:\n')
    # _base_ files are resolved and the option applied.
    assert "type='MultiTaskSegmentor'" in out
    assert "max_iters=7, type='IterBasedTrainLoop'" in out
    assert '_base_' not in out
    again = Config.fromfile(str(saved))
    assert again.to_dict() == cfg.to_dict()
    assert again.train_cfg.max_iters == 7


@pytest.mark.parametrize('suffix', ['json', 'yaml'])
def test_saves_json_and_yaml(tmp_path, suffix, capsys, tool):
    saved = tmp_path / f'full.{suffix}'
    cfg = tool.main([CONFIG, '--save-path', str(saved)])
    if suffix == 'json':
        assert json.loads(saved.read_text())['train_cfg'] == cfg.train_cfg
    again = Config.fromfile(str(saved))
    assert again.model.type == 'MultiTaskSegmentor'
    assert again.train_cfg.max_iters == cfg.train_cfg.max_iters


def test_bad_input_fails_clearly(tmp_path, tool):
    with pytest.raises(ConfigKeyError, match="'tain_cfg' .*did you mean "
                       "'train_cfg'"):
        tool.main([CONFIG, '--cfg-options', 'tain_cfg.max_iters=7'])
    with pytest.raises(ConfigNotFoundError, match='Did you mean: .*'
                       'multimae_vit-tiny_depth-seg_1xb8-300i'):
        tool.main([CONFIG.replace('_1xb8-300i_nyuv2synth-64x64', '')])
    bad = tmp_path / 'full.txt'
    with pytest.raises(ValueError, match=r'full\.txt: the file name must '
                       'end with one of'):
        tool.main([CONFIG, '--save-path', str(bad)])
    assert not os.listdir(tmp_path)  # nothing written, not even a temp file


def test_cli_exits_with_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, TOOL, CONFIG, '--cfg-options', 'tain_cfg.x=1'],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ConfigKeyError: ") and "'tain_cfg'" in last


def test_graph_prints_the_model(capsys, tool):
    tool.main([CONFIG, '--graph'])
    out = capsys.readouterr().out
    assert 'Model graph:\nMultiTaskSegmentor(' in out
    assert 'MultiViT(' in out
