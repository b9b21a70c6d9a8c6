"""tools/analysis_tools/compare_peft.py: schedule shortening, the table and
its Δm, the CSV and plot, resuming, and an end-to-end run on two tiny
configs (slow)."""
import csv
import json
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = '_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py'
HEADS = f'configs/peft/heads-only{TINY}'
ADAPT = ('configs/peft/adaptformer_multimae-tiny_b16-s0.1_depth-seg_'
         '1xb8-300i_nyuv2synth-64x64.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis_tools/compare_peft.py')


def _record(name, miou, rmse, trainable=10, **extra):
    r = dict(name=name, config=f'{name}.py', iters=2,
             tasks=dict(semseg=[['mIoU', False]], depth=[['rmse', True]]),
             metrics=dict(mIoU=miou, rmse=rmse), trainable_params=trainable,
             total_params=1000, trainable_pct=trainable / 10.,
             backbone_params=800, backbone_trainable=0,
             backbone_share_pct=0., train_s_per_iter=0.1, peak_mib=100.)
    r.update(extra)
    return r


def test_every_preset_config_exists(tool):
    for preset in tool.PRESETS:
        methods = tool.parse_methods(None, preset)
        assert [n for n, _ in methods][0] == 'full-ft'
        assert len(methods) == 13


def test_bad_method_lists_name_the_culprit(tool):
    with pytest.raises(ValueError, match="'lora': expected NAME=CONFIG"):
        tool.parse_methods(['lora'], None)
    with pytest.raises(FileNotFoundError, match="'x': config nope.py"):
        tool.parse_methods(['x=nope.py'], None)
    with pytest.raises(ValueError, match=r"\['a'\] are given twice"):
        tool.parse_methods([f'a={HEADS}', f'a={ADAPT}'], None)


def test_short_schedule_scales_every_boundary(tool):
    cfg = Config.fromfile(osp.join(REPO, HEADS))
    tool.scale_schedule(cfg, 30)
    warm, cos = cfg.param_scheduler
    assert (warm.begin, warm.end) == (0, 3)
    assert (cos.begin, cos.end) == (3, 30)
    assert cfg.train_cfg.max_iters == cfg.train_cfg.val_interval == 30
    assert cfg.default_hooks.checkpoint.interval == 30
    cfg = Config.fromfile(osp.join(REPO, HEADS))
    tool.scale_schedule(cfg, 2)  # every scheduler at least 1 iteration
    assert [(s.begin, s.end) for s in cfg.param_scheduler] == [(0, 1),
                                                               (1, 2)]


def test_table_delta_m_against_the_baseline(tool):
    rows = tool.build_table(
        [_record('full-ft', 40., 1.0), _record('lora', 44., 1.5)],
        'full-ft')
    assert rows[0]['delta_m'] == 0
    # semseg +10 %, depth rmse 50 % worse: (10 - 50) / 2.
    assert rows[1]['delta_m'] == pytest.approx(-20.)
    assert rows[1]['mIoU'] == 44. and rows[1]['trainable_params'] == 10
    with pytest.raises(KeyError, match="--baseline 'ft'"):
        tool.build_table([_record('full-ft', 40., 1.)], 'ft')
    with pytest.raises(KeyError, match=r"'lora' has no metric \['d1'\]"):
        tool.build_table([_record('lora', 40., 1.)], None, ['mIoU', 'd1'])


def test_csv_and_plot_are_written(tool, tmp_path):
    rows = tool.build_table(
        [_record('full-ft', 40., 1.0, trainable=1000),
         _record('heads', 30., 1.2, trainable=5)], 'full-ft')
    tool.write_csv(rows, str(tmp_path / 't.csv'))
    with open(tmp_path / 't.csv') as f:
        read = list(csv.DictReader(f))
    assert [r['method'] for r in read] == ['full-ft', 'heads']
    assert float(read[1]['delta_m']) == pytest.approx(rows[1]['delta_m'])
    tool.write_plot(rows, 'mIoU', str(tmp_path / 't.png'))
    assert (tmp_path / 't.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    with pytest.raises(KeyError, match="--main-metric 'miou'"):
        tool.write_plot(rows, 'miou', str(tmp_path / 'u.png'))
    print(tool.format_table(rows))


def test_parameter_counts_separate_backbone_and_heads(tool):
    heads = tool.count_params(Config.fromfile(osp.join(REPO, HEADS)))
    adapt = tool.count_params(Config.fromfile(osp.join(REPO, ADAPT)))
    assert heads['backbone_trainable'] == 0
    assert heads['backbone_params'] == adapt['backbone_params']
    # 4 blocks x (128 x 16 + 16 + 16 x 128 + 128) adapter parameters.
    per_block = 128 * 16 + 16 + 16 * 128 + 128
    assert adapt['backbone_trainable'] == 4 * per_block
    assert adapt['trainable_params'] - heads['trainable_params'] == \
        4 * per_block


def test_finished_methods_are_skipped(tool, tmp_path, monkeypatch, capsys):
    work = tmp_path / 'work'
    (work / 'heads').mkdir(parents=True)
    (work / 'heads' / 'result.json').write_text(
        json.dumps(_record('heads', 30., 1.2)))

    def no_run(*args, **kwargs):
        raise AssertionError('a finished method was run again')

    monkeypatch.setattr(tool, 'run', no_run)
    rows = tool.main(['--configs', f'heads={HEADS}', '--work-dir',
                      str(work)])
    assert rows[0]['mIoU'] == 30.
    assert 'done before, skipped' in capsys.readouterr().out
    assert (work / 'compare_peft.csv').is_file()


@pytest.mark.slow
def test_two_tiny_configs_end_to_end(tool, tmp_path):
    from mmmae.datasets import generate_synthetic_nyuv2
    root = str(tmp_path / 'nyuv2_synth')
    generate_synthetic_nyuv2(root)
    work = str(tmp_path / 'work')
    argv = ['--configs', f'heads={HEADS}', f'adaptformer={ADAPT}',
            '--work-dir', work, '--max-iters', '2', '--baseline', 'heads',
            '--metrics', 'mIoU', 'rmse', 'd1', '--bench-iters', '1',
            '--cfg-options'] + [
                f'{k}_dataloader.dataset.{opt}' for k in ('train', 'val',
                                                          'test')
                for opt in (f'data_root={root}', 'indices=4')]
    rows = tool.main(argv)
    assert [r['method'] for r in rows] == ['heads', 'adaptformer']
    heads, adapt = rows
    assert heads['delta_m'] == 0
    assert 0 <= adapt['mIoU'] <= 100 and adapt['rmse'] > 0
    assert adapt['backbone_trainable'] > 0 == heads['backbone_trainable']
    assert adapt['train_s_per_iter'] > 0 and adapt['peak_mib'] > 0
    assert osp.isfile(osp.join(work, 'heads', 'iter_2.pth'))
    with open(osp.join(work, 'compare_peft.csv')) as f:
        assert len(list(csv.DictReader(f))) == 2
    assert osp.getsize(osp.join(work, 'compare_peft.png')) > 0
