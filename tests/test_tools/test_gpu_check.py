"""tools/misc/gpu_check.sh and its table: one row per run and compile
state, FAILED rows naming the log, no CUDA -> a clear exit, and the whole
sequence end to end on the CPU (--cpu-dry-run, slow)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'misc', 'gpu_check.sh')
RUNS = ('pretrain', 'finetune', 'vpt-deep', 'mmap-mt')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis_tools/gpu_check_table.py')


def _bench_json(ips, compiled, reason=None):
    return dict(config='configs/x/cfg.py', batch_size=8,
                device_name='NVIDIA H200', mfu_train=0.41,
                compile=dict(asked=compiled, enabled=compiled and not reason,
                             fallback_reason=reason),
                train=dict(images_per_s=ips, s_per_iter=8 / ips,
                           dtype='float16', memory=dict(peak_mib=1234.5)))


def _write(folder, name, obj):
    with open(osp.join(folder, name), 'w') as f:
        json.dump(obj, f)


def test_table_has_every_run_and_flags_failures(tmp_path, tool):
    d = str(tmp_path)
    _write(d, 'finetune__compile-off.json', _bench_json(50., False))
    _write(d, 'finetune__compile-on.json',
           _bench_json(49., True, reason='InvalidCxxCompiler: no g++'))
    _write(d, 'pretrain__compile-off.json', _bench_json(900., False))
    _write(d, 'data__pipeline.json', dict(
        config='configs/x/ft.py', pipeline_samples_per_s=60.,
        decode_floor_samples_per_s=75., pipeline_to_floor=0.8))
    _write(d, 'data__loader.json', dict(
        config='configs/x/ft.py', num_workers=8, batch_size=8,
        samples=160, samples_per_s=420.))
    table, failed = tool.build_table(d, ['pretrain', 'finetune'])
    lines = table.splitlines()
    assert lines[0] == 'GPU check on NVIDIA H200'
    fin = [ln for ln in lines if ln.startswith('| finetune')]
    assert len(fin) == 2 and '50.0' in fin[0] and '1234' in fin[0]
    assert '0.410' in fin[0]
    assert 'compile fell back to eager: InvalidCxxCompiler' in fin[1]
    pre_on = [ln for ln in lines if ln.startswith('| pretrain')][1]
    assert 'FAILED' in pre_on and 'pretrain__compile-on.log' in pre_on
    assert failed == 1
    assert any('8 workers' in ln and '420.0' in ln for ln in lines)
    assert any('pipeline/floor 0.80' in ln for ln in lines)
    assert tool.main([d, '--runs', 'pretrain', 'finetune']) == 1


def test_no_cuda_exits_clearly(tmp_path):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='')
    proc = subprocess.run(['bash', SCRIPT, '--out', str(tmp_path)],
                          capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)
    assert proc.returncode == 2
    assert 'no CUDA device' in proc.stderr and '--cpu-dry-run' in proc.stderr
    assert not any(n.endswith('.json') for n in os.listdir(tmp_path))


def test_unknown_argument_is_refused(tmp_path):
    proc = subprocess.run(['bash', SCRIPT, '--gpu'], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "unknown argument '--gpu'" in proc.stderr


@pytest.mark.slow
def test_cpu_dry_run_end_to_end(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1',
               MMMAE_VENV=osp.dirname(osp.dirname(sys.executable)))
    proc = subprocess.run(['bash', SCRIPT, '--cpu-dry-run', '--out',
                           str(tmp_path)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = (tmp_path / 'table.md').read_text()
    assert 'FAILED' not in table
    for run in RUNS:
        for state in ('compile-off', 'compile-on'):
            result = json.loads(
                (tmp_path / f'{run}__{state}.json').read_text())
            assert result['train']['images_per_s'] > 0
            assert result['mfu_train'] > 0
            assert result['compile']['enabled'] == (state == 'compile-on')
    assert 'dataloader, 1 workers' in table
    assert 'pipeline/floor' in table
    assert table in proc.stdout
