"""tools/analysis_tools/analyze_logs.py: plot_curve and cal_train_time on
mmengine's JSON-lines logs (a real toy run and hand-written multi-task and
epoch-based logs)."""
import json
import os
import os.path as osp
import subprocess
import sys

import matplotlib
import pytest

from toy_project import run_tool, write_toy_project

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'analyze_logs.py')
PNG = b'\x89PNG\r\n\x1a\n'
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis_tools/analyze_logs.py')


def _write(path, entries):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(json.dumps(e) + '\n' for e in entries))
    return str(path)


def _multi_task_log(root, name='mt', scale=1.0):
    """As mmengine writes a multi-task iteration-based run: train entries
    every 5 iterations, validation (with a key clash: time) every 10."""
    entries = []
    for it in (5, 10, 15, 20):
        entries.append({
            'lr': 1e-4, 'data_time': 0.1, 'time': 1.0 + it / 100,
            'loss': scale * 6 / it, 'decode_depth.loss_berhu': scale * 2 / it,
            'decode_semseg.loss_ce': scale * 4 / it,
            'decode_semseg.acc_seg': float(it), 'iter': it, 'step': it})
        if it % 10 == 0:
            entries.append({'mIoU': it / 2, 'depth/rmse': 2 - it / 20,
                             'data_time': 0.2, 'time': 0.5, 'step': it})
    return _write(root / name / '20260101_000000' / 'vis_data' /
                  'scalars.json', entries)


def _epoch_log(root):
    """An epoch-based run: 'epoch' in train entries, validation by epoch."""
    entries = []
    times = {1: [9.0, 1.0, 1.2], 2: [7.0, 1.4, 1.0]}
    for epoch, ts in times.items():
        for i, t in enumerate(ts):
            step = (epoch - 1) * 30 + (i + 1) * 10
            entries.append(dict(lr=0.1, time=t, data_time=0.5, loss=1 / step,
                                epoch=epoch, iter=step, step=step))
        entries.append(dict(accuracy_top1=40.0 + epoch, step=epoch))
    return _write(root / 'ep' / 'scalars.json', entries)


def _args(tool, *argv):
    return tool.parse_args(list(argv))


def test_real_toy_run(tmp_path, tool):
    """A log written by mmengine itself (tools/train.py on the toy
    project): a png with the curves, and the training time."""
    cfg = write_toy_project(tmp_path)
    work = tmp_path / 'work'
    proc = run_tool(['tools/train.py', cfg, '--work-dir', str(work)],
                    tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    out = tmp_path / 'plots' / 'curves.png'
    out.parent.mkdir()
    assert tool.main(['plot_curve', str(work), '--keys', 'loss', 'mse',
                      '--out', str(out)]) == str(out)
    assert out.read_bytes().startswith(PNG) and out.stat().st_size > 10000
    assert os.listdir(out.parent) == ['curves.png']  # no temporary left
    (log, ) = [osp.join(r, f) for r, _, fs in os.walk(work) for f in fs
               if f == 'scalars.json']
    train = [json.loads(line) for line in open(log)
             if '"iter"' in line]
    assert [e['iter'] for e in train] == [1, 2, 3, 4, 5, 6]
    (result, ) = tool.main(['cal_train_time', log])
    times = [e['time'] for e in train]
    assert result['avg'] == pytest.approx(sum(times[1:]) / 5)
    assert result['intervals'] == 5 and result['last_iter'] == 6
    (result, ) = tool.main(['cal_train_time', log, '--include-outliers'])
    assert result['avg'] == pytest.approx(sum(times) / 6)


def test_multi_task_keys_train_and_val_curves(tmp_path, capsys, tool):
    log = tool.load_json_log(_multi_task_log(tmp_path))
    assert len(log['train']) == 4 and len(log['val']) == 2
    assert not log['by_epoch']
    keys = tool.expand_keys(['decode_*.loss*', 'depth/*', 'time'], [log])
    assert keys == ['decode_depth.loss_berhu', 'decode_semseg.loss_ce',
                    'depth/rmse', 'time']
    (train, ) = tool.curves(log, 'decode_semseg.loss_ce')
    assert train['x'] == [5, 10, 15, 20] and train['xlabel'] == 'iter'
    assert train['y'] == pytest.approx([4 / 5, 4 / 10, 4 / 15, 4 / 20])
    (val, ) = tool.curves(log, 'depth/rmse')
    assert val['part'] == 'val' and val['x'] == [10, 20]
    assert val['y'] == pytest.approx([1.5, 1.0])
    assert [c['part'] for c in tool.curves(log, 'time')] == ['train', 'val']


def test_figure_has_titles_labels_and_legends(tmp_path, tool):
    logs = [tool.load_json_log(_multi_task_log(tmp_path, 'a')),
            tool.load_json_log(_multi_task_log(tmp_path, 'b', scale=2))]
    keys = ['loss', 'mIoU', 'time']
    args = _args(tool, 'plot_curve', 'x', '--legend', 'full', 'prompt')
    labels = tool._legends(args, logs, keys)
    fig = tool.draw(logs, keys, labels, tool.matplotlib_style('dark'),
                    title='runs')
    loss, miou, time = fig.axes[:3]
    assert fig._suptitle.get_text() == 'runs'
    assert [ax.get_title() for ax in (loss, miou, time)] == keys
    assert loss.get_xlabel() == 'iter' and loss.get_ylabel() == 'loss'
    assert [t.get_text() for t in loss.get_legend().get_texts()] == \
        ['full', 'prompt']
    # Both runs' loss curves, the second twice as high.
    (a, b) = loss.get_lines()
    assert list(b.get_ydata()) == pytest.approx(
        [2 * y for y in a.get_ydata()])
    assert [t.get_text() for t in time.get_legend().get_texts()] == \
        ['full (train)', 'full (val)', 'prompt (train)', 'prompt (val)']
    assert len(fig.axes) == 3
    plt.close(fig)
    # Default legend: the run names (work dir names).
    labels = tool._legends(_args(tool, 'plot_curve', 'x'), logs, keys)
    assert labels[0, 'loss'] == 'a' and labels[1, 'mIoU'] == 'b'
    with pytest.raises(ValueError, match='--legend has 3 entries; give one '
                       r'per log \(2\) or one per log and key'):
        tool._legends(_args(tool, 'plot_curve', 'x', '--legend', '1', '2',
                            '3'), logs, keys)


def test_epoch_based_log(tmp_path, tool):
    path = _epoch_log(tmp_path)
    log = tool.load_json_log(path)
    assert log['by_epoch']
    (val, ) = tool.curves(log, 'accuracy_top1')
    assert val['xlabel'] == 'epoch' and val['x'] == [1, 2]
    (result, ) = tool.main(['cal_train_time', path])
    # The first interval of each epoch (9.0, 7.0) is start-up.
    assert result['avg'] == pytest.approx((1.0 + 1.2 + 1.4 + 1.0) / 4)
    assert result['slowest'] == (50, 1.4) and result['fastest'][1] == 1.0
    assert result['total_s'] == pytest.approx(result['avg'] * 60)


def test_bad_input_is_named(tmp_path, tool):
    log = _multi_task_log(tmp_path)
    with pytest.raises(tool.LogKeyError) as info:
        tool.main(['plot_curve', log, '--keys', 'mIOU'])
    text = str(info.value)
    assert "key 'mIOU' is not in the log(s). Did you mean ['mIoU']?" in text
    assert f"{log}: train ['data_time', 'decode_depth.loss_berhu'" in text
    assert "val ['data_time', 'depth/rmse', 'mIoU', 'time']" in text
    text_log = tmp_path / 'run.log'
    text_log.write_text('12/01 20:07:15 - mmengine - INFO - Iter(val)\n')
    with pytest.raises(tool.LogFormatError, match=f'{text_log} is not a '
                       'JSON-lines log: line 1 is not JSON'):
        tool.main(['cal_train_time', str(text_log)])
    result = _write(tmp_path / 'test' / 'result.json', [{'mIoU': 40.0}])
    with pytest.raises(tool.LogFormatError, match='no mmengine train or '
                       'validation entry'):
        tool.main(['plot_curve', result])
    array = _write(tmp_path / 'array.json', [[1, 2]])
    with pytest.raises(tool.LogFormatError, match='line 1 is a list'):
        tool.main(['plot_curve', array])
    with pytest.raises(FileNotFoundError, match='without <timestamp>/'
                       'vis_data/scalars.json'):
        tool.main(['plot_curve', str(tmp_path / 'test')])
    with pytest.raises(ValueError, match="--style 'sparkly' is not a "
                       'matplotlib style'):
        tool.main(['plot_curve', log, '--style', 'sparkly', '--out',
                   str(tmp_path / 'x.png')])
    assert not (tmp_path / 'x.png').exists()


def test_cli_error_is_one_line(tmp_path):
    log = _multi_task_log(tmp_path)
    proc = subprocess.run(
        [sys.executable, TOOL, 'plot_curve', log, '--keys', 'nope', '--out',
         str(tmp_path / 'c.png')], capture_output=True, text=True,
        timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "LogKeyError: key 'nope' is not in the log(s). Keys present: ")
