"""tools/analysis_tools/multi_task_table.py: per-task metrics, Δm and
trainable share of several runs in one table."""
import json

import pytest


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis_tools/multi_task_table.py')


def _run(root, name, metrics, share=None):
    """A tools/test.py work dir: <ts>/<ts>.json and <ts>/<ts>.log."""
    ts = '20260101_000000'
    run = root / name / ts
    run.mkdir(parents=True)
    (run / f'{ts}.json').write_text(json.dumps(metrics))
    log = 'mmengine - INFO - start\n'
    if share:
        log += ('mmengine - INFO - TrainableParamsHook: trainable '
                f'parameters {share[0]} / 1.0M ({share[1]:.2f}%); prompts\n')
    (run / f'{ts}.log').write_text(log)
    return str(root / name)


def test_table_has_each_runs_metrics_delta_m_and_share(tmp_path, capsys, tool):
    base = dict(
        semseg=_run(tmp_path, 'st_semseg', {'mIoU': 40.0}, ('1.0M', 100)),
        depth=_run(tmp_path, 'st_depth', {'rmse': 0.5}, ('1.0M', 100)))
    ft = _run(tmp_path, 'ft', {'mIoU': 44.0, 'rmse': 0.55}, ('1.0M', 100))
    mtp = _run(tmp_path, 'mtp', {'mIoU': 30.0, 'rmse': 0.4}, ('12.5K', 1.25))
    out = tmp_path / 'table.json'
    table = tool.main(['--run', f'full={ft}', f'prompts={mtp}',
                       '--baseline', f'semseg={base["semseg"]}',
                       f'depth={base["depth"]}', '--out', str(out)])
    # full: semseg +10%, depth (lower is better) -10% -> Δm 0
    # prompts: semseg -25%, depth +20% -> Δm -2.5
    assert table['runs']['full']['task_delta'] == pytest.approx(
        dict(semseg=10.0, depth=-10.0))
    assert table['runs']['full']['delta_m'] == pytest.approx(0.0)
    assert table['runs']['prompts']['delta_m'] == pytest.approx(-2.5)
    assert table['runs']['prompts']['trainable']['percent'] == 1.25
    assert json.loads(out.read_text())['runs']['prompts']['delta_m'] == \
        pytest.approx(-2.5)
    text = capsys.readouterr().out
    assert 'mIoU ↑' in text and 'rmse ↓' in text
    assert '30 (-25.0%)' in text and '-2.50' in text
    assert '1.25% (12.5K)' in text


def test_missing_metric_and_unknown_task_fail_clearly(tmp_path, tool):
    st = _run(tmp_path, 'st', {'mIoU': 40.0})
    ft = _run(tmp_path, 'ft', {'rmse': 0.5})
    with pytest.raises(KeyError, match='mIoU'):
        tool.build_table(dict(ft=ft), dict(semseg=st))
    with pytest.raises(ValueError, match="'albedo'"):
        tool.build_table(dict(ft=ft), dict(albedo=st))
    with pytest.raises(ValueError, match='NAME=PATH'):
        tool.main(['--run', ft, '--baseline', f'semseg={st}'])
