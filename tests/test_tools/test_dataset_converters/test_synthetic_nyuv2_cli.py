import os
import os.path as osp

import pytest

from mmmae.datasets.io_utils import read_marker


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool(
        'tools/dataset_converters/synthetic_nyuv2.py', 'synthetic_nyuv2_cli')


def test_cli_writes_then_noops(tmp_path, capsys, tool):
    out = str(tmp_path / 'synth')
    args = ['--out', out, '--num-train', '3', '--num-test', '2', '--size',
            '32', '48', '--seed', '5']
    tool.main(args)
    assert 'wrote' in capsys.readouterr().out
    assert read_marker(out)['params']['size'] == [32, 48]
    assert len(os.listdir(osp.join(out, 'test', 'depth'))) == 2
    tool.main(args)
    assert 'nothing to do' in capsys.readouterr().out
