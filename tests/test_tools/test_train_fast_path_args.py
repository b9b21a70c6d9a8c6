"""tools/train.py: --amp-dtype sets the AMP wrapper's dtype or exits naming
the config; cfg.compile goes through the compile check."""
import os.path as osp

import pytest
from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
AMP_CFG = osp.join(ROOT, 'configs/multimae/'
                   'multimae_vit-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py')
PLAIN_CFG = osp.join(ROOT, 'configs/multimae/'
                     'multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-'
                     '64x64.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/train.py', 'train_tool')


def test_amp_dtype_reaches_the_optim_wrapper(tmp_path, tool):
    args = tool.parse_args([AMP_CFG, '--amp-dtype', 'bfloat16',
                            '--work-dir', str(tmp_path)])
    cfg = tool.merge_args(Config.fromfile(AMP_CFG), args)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'


def test_amp_dtype_without_amp_exits_naming_the_config(tmp_path, tool):
    args = tool.parse_args([PLAIN_CFG, '--amp-dtype', 'float16',
                            '--work-dir', str(tmp_path)])
    with pytest.raises(SystemExit, match=r'--amp-dtype: .*nyuv2synth-64x64'
                       r'.py has optim_wrapper.type=OptimWrapper'):
        tool.merge_args(Config.fromfile(PLAIN_CFG), args)


def test_main_runs_the_compile_check(monkeypatch, tmp_path, tool):
    seen = []
    monkeypatch.setattr(tool, 'resolve_compile',
                        lambda cfg: seen.append(cfg.get('compile')))

    class Stop(Exception):
        pass

    def stop(cfg):
        raise Stop

    monkeypatch.setattr(tool, 'build_runner', stop)
    with pytest.raises(Stop):
        tool.main([PLAIN_CFG, '--work-dir', str(tmp_path), '--cfg-options',
                   'compile=True'])
    assert seen == [True]
