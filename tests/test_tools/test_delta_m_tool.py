"""tools/analysis_tools/delta_m.py on work directories in mmengine's
layout."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'analysis_tools', 'delta_m.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis_tools/delta_m.py', 'delta_m_tool')


def _test_run(work_dir, stamp, metrics):
    """What runner.test() leaves: <work_dir>/<ts>/<ts>.json."""
    os.makedirs(osp.join(work_dir, stamp), exist_ok=True)
    with open(osp.join(work_dir, stamp, f'{stamp}.json'), 'w') as f:
        json.dump(metrics, f)


def _train_run(work_dir, stamp, lines):
    """Training scalars: <work_dir>/<ts>/vis_data/<ts>.json, JSON lines."""
    d = osp.join(work_dir, stamp, 'vis_data')
    os.makedirs(d, exist_ok=True)
    with open(osp.join(d, f'{stamp}.json'), 'w') as f:
        f.write('\n'.join(json.dumps(x) for x in lines) + '\n')
    with open(osp.join(d, 'scalars.json'), 'w') as f:
        f.write(json.dumps({'mIoU': -1.0, 'step': 1}) + '\n')


@pytest.fixture
def runs(tmp_path):
    mt = str(tmp_path / 'mt')
    _test_run(mt, '20240101_000000', {'mIoU': 10.0, 'rmse': 9.0,
                                      'normals/mean': 99.0})  # older
    _test_run(mt, '20240102_000000', {'mIoU': 40.0, 'rmse': 0.5,
                                      'normals/mean': 22.0, 'time': 0.1})
    seg = str(tmp_path / 'st_semseg')
    _train_run(seg, '20240101_000000', [
        {'lr': 0.1, 'loss': 1.0, 'step': 10},
        {'mIoU': 30.0, 'aAcc': 60.0, 'step': 100},
        {'lr': 0.1, 'loss': 0.5, 'step': 110},
        {'mIoU': 50.0, 'aAcc': 70.0, 'step': 200},  # last validation
        {'lr': 0.1, 'loss': 0.4, 'step': 210}])
    depth = str(tmp_path / 'st_depth')
    _test_run(depth, '20240101_000000', {'rmse': 0.6, 'd1': 0.8})
    normals = str(tmp_path / 'st_normals' / '20240105_000000' /
                  '20240105_000000.json')
    _test_run(str(tmp_path / 'st_normals'), '20240105_000000',
              {'normals/mean': 20.0})
    return mt, seg, depth, normals, tmp_path


def test_delta_m_from_work_dirs(runs, tool):
    mt, seg, depth, normals, tmp_path = runs
    result = tool.main([mt, '--baseline', f'semseg={seg}',
                        f'depth={depth}', f'normals={normals}'])
    # semseg (40 - 50) / 50 = -20 %, depth +(0.6 - 0.5) / 0.6 = +16.67 %,
    # normals -(22 - 20) / 20 = -10 %.
    assert result['delta_m'] == pytest.approx((-20 + 100 / 6 - 10) / 3)
    assert result['multi_task_source'].endswith(
        osp.join('20240102_000000', '20240102_000000.json'))
    assert result['baseline_sources']['semseg'].endswith(
        osp.join('vis_data', '20240101_000000.json'))
    out = osp.join(mt, '20240102_000000', 'delta_m.json')
    with open(out) as f:
        written = json.load(f)
    assert written['delta_m'] == pytest.approx(result['delta_m'])
    assert written['tasks']['depth']['metrics'][0]['lower_is_better']


def test_custom_metrics_and_command_line(runs, tmp_path):
    mt, seg, depth, normals, _ = runs
    out = str(tmp_path / 'dm.json')
    proc = subprocess.run(
        [sys.executable, TOOL, mt, '--baseline', f'semseg={seg}',
         '--metric', 'semseg=mIoU:higher', '--out', out],
        capture_output=True, text=True, cwd=str(tmp_path),
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr
    assert 'Δm' in proc.stdout and '-20.00' in proc.stdout
    with open(out) as f:
        assert json.load(f)['delta_m'] == pytest.approx(-20.0)


def test_errors_name_the_problem(runs, tmp_path, tool):
    mt, seg, depth, normals, _ = runs
    # The multi-task run has mIoU, the depth baseline does not.
    with pytest.raises(KeyError, match=r"st_depth: no record with all of "
                       r"\['mIoU'\] \(keys found: \['d1', 'rmse'\]"):
        tool.main([mt, '--baseline', f'depth={depth}', '--metric',
                   'depth=mIoU:higher'])
    with pytest.raises(ValueError, match="task 'foo' has no default"):
        tool.main([mt, '--baseline', f'foo={seg}'])
    with pytest.raises(ValueError, match=':lower or :higher'):
        tool.main([mt, '--baseline', f'semseg={seg}', '--metric',
                   'semseg=mIoU'])
    with pytest.raises(FileNotFoundError, match='no metrics found'):
        tool.main([str(tmp_path), '--baseline', f'semseg={seg}'])
