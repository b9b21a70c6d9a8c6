"""tools/misc/quickstart.sh (README command 1): its configs exist, and the
whole story (pre-train, prompt-tune, fine-tune, single-task baselines, one
table) runs and resumes (slow)."""
import json
import os
import os.path as osp
import re
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'misc', 'quickstart.sh')


def _script_configs():
    text = open(SCRIPT, encoding='utf-8').read()
    suffix = re.search(r'^SUFFIX=(\S+)$', text, re.M).group(1)
    tasks = re.search(r'^TASKS=\((.*)\)$', text, re.M).group(1).split()
    paths = []
    for raw in re.findall(r'configs/[^\s"]+\.py', text.replace(
            '${SUFFIX}', suffix)):
        names = [raw.replace('${task}', t) for t in tasks] \
            if '${task}' in raw else [raw]
        paths += names
    return paths, tasks


def test_script_parses_and_names_existing_configs():
    subprocess.run(['bash', '-n', SCRIPT], check=True)
    paths, tasks = _script_configs()
    assert tasks == ['semseg', 'depth', 'normals', 'edge']
    # pre-training, prompts, fine-tuning, 4 twins (+ the old default).
    assert len(paths) >= 7, paths
    missing = [p for p in paths if not osp.isfile(osp.join(REPO, p))]
    assert not missing, missing


@pytest.mark.slow
def test_quickstart_story_runs_prints_one_table_and_resumes(tmp_path):
    env = dict(os.environ, WORK_DIR=str(tmp_path / 'qs'),
               OMP_NUM_THREADS='1')
    # Two iterations per phase: the plumbing, not the figures.
    cmd = ['bash', SCRIPT, '--cfg-options', 'train_cfg.max_iters=2',
           'train_cfg.val_interval=2']
    first = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                           text=True)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    for phase in range(1, 8):
        assert f'>> [{phase}/7]' in first.stdout
    assert 'Δm (%)' in first.stdout and 'trainable' in first.stdout
    table = json.loads((tmp_path / 'qs' / 'results.json').read_text())
    assert set(table['runs']) == {'full fine-tuning', 'multi-task prompts'}
    shares = {n: r['trainable']['percent'] for n, r in table['runs'].items()}
    assert shares['full fine-tuning'] == 100.0
    assert 0 < shares['multi-task prompts'] < 100.0
    # A rerun trains and tests nothing again and prints the same table.
    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                            text=True)
    assert second.returncode == 0, second.stderr[-3000:]
    assert second.stdout.count('test metrics present') == 6
    assert 'Iter(train)' not in second.stdout + second.stderr
    assert json.loads((tmp_path / 'qs' / 'results.json').read_text()) == \
        table
