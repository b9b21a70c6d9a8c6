"""Multi-task performance Δm of a run against its single-task baselines.

    python tools/analysis_tools/delta_m.py work_dirs/mt \
        --baseline semseg=work_dirs/st_semseg depth=work_dirs/st_depth \
                   normals=work_dirs/st_normals edge=work_dirs/st_edge \
        [--metric normals=normals/mean:lower,normals/11.25:higher] \
        [--out work_dirs/mt/delta_m.json]

Each path is a metrics file or a work directory:

- ``<work_dir>/<timestamp>/<timestamp>.json``: what ``tools/test.py`` (and
  any ``runner.test()``) writes, one JSON object of the test metrics;
- ``<work_dir>/<timestamp>/vis_data/<timestamp>.json``: the scalars of a
  training run, one JSON object per line; the last line holding every
  requested metric (the last validation) is used;
- a work directory: the newest run inside it, test metrics first.

Δm = (1/T) Σ_t (-1)^{l_t} (M_mt,t - M_st,t) / M_st,t in percent, averaged
over each task's metrics first (:func:`mmmae.evaluation.delta_m`). The
table is printed and the result written, atomically, as JSON (default:
``delta_m.json`` next to the multi-task metrics file).
"""
import argparse
import glob
import json
import os.path as osp
import sys
from typing import Dict, List, Sequence, Tuple

# Run from a checkout without `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from mmmae.evaluation.functional.delta_m import (  # noqa: E402
    DEFAULT_TASK_METRICS, delta_m, format_delta_m_table)
from mmmae.utils.atomic_io import atomic_write_text  # noqa: E402


def _records(path: str) -> List[dict]:
    """The JSON objects of a metrics file: one (test output) or one per
    line (training scalars)."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        data = json.loads(text)
        return [data] if isinstance(data, dict) else []
    except json.JSONDecodeError:
        pass
    records = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise ValueError(f'{path}: line {n} is not JSON ({e})') from e
    return records


def _candidates(path: str) -> List[str]:
    """Metrics files of a work directory, newest run first, a run's test
    metrics before its training scalars."""
    runs = set()
    for pattern in ('*/*.json', '*.json', '*/vis_data/*.json',
                    'vis_data/*.json'):
        for f in glob.glob(osp.join(path, pattern)):
            name = osp.splitext(osp.basename(f))[0]
            parent = osp.basename(osp.dirname(f))
            run = osp.basename(osp.dirname(osp.dirname(f))) \
                if parent == 'vis_data' else parent
            # <ts>/<ts>.json (test) ranks before <ts>/vis_data/<ts>.json.
            if name == run or (parent == 'vis_data' and name != 'scalars'):
                runs.add((run, parent != 'vis_data', f))
    return [f for _, _, f in sorted(runs, reverse=True)]


def load_metrics(path: str, keys: Sequence[str]) -> Tuple[Dict, str]:
    """The newest record in ``path`` (file or work directory) that holds
    every key, and the file it came from."""
    if osp.isdir(path):
        files = _candidates(path)
        if not files:
            raise FileNotFoundError(
                f'{path}: no metrics found (expected <timestamp>/'
                f'<timestamp>.json from tools/test.py or <timestamp>/'
                f'vis_data/<timestamp>.json from training)')
    elif osp.isfile(path):
        files = [path]
    else:
        raise FileNotFoundError(f'{path}: no such file or directory')
    for f in files:
        for record in reversed(_records(f)):
            if all(k in record for k in keys):
                return record, f
    seen = sorted({k for f in files for r in _records(f) for k in r})
    raise KeyError(f'{path}: no record with all of {list(keys)} (keys '
                   f'found: {seen})')


def parse_metric_specs(items: Sequence[str]) -> Dict[str, list]:
    """``task=key:lower,key:higher`` -> {task: [(key, lower_is_better)]}."""
    specs = {}
    for item in items or []:
        task, sep, rest = item.partition('=')
        if not sep or not rest:
            raise ValueError(f'--metric {item!r}: expected '
                             f'TASK=KEY:lower|higher[,KEY:...]')
        pairs = []
        for part in rest.split(','):
            key, sep, order = part.rpartition(':')
            if not sep or order not in ('lower', 'higher'):
                raise ValueError(f'--metric {item!r}: {part!r} must end in '
                                 f':lower or :higher')
            pairs.append((key, order == 'lower'))
        specs[task] = pairs
    return specs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Δm of a multi-task run against single-task baselines')
    parser.add_argument('multi_task', help='metrics file or work dir of the '
                        'multi-task run')
    parser.add_argument('--baseline', nargs='+', required=True,
                        metavar='TASK=PATH',
                        help='single-task baseline per task (metrics file '
                        'or work dir); the tasks named here are the T tasks')
    parser.add_argument('--metric', nargs='+', metavar='TASK=KEY:ORDER',
                        help='metrics of a task, e.g. normals=normals/mean:'
                        'lower; defaults: ' + ', '.join(
                            f'{t}={k}:{"lower" if lo else "higher"}'
                            for t, ((k, lo), ) in
                            DEFAULT_TASK_METRICS.items()))
    parser.add_argument('--out', help='JSON output (default: delta_m.json '
                        'next to the multi-task metrics file)')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    baselines = {}
    for item in args.baseline:
        task, sep, path = item.partition('=')
        if not sep or not task or not path:
            raise ValueError(f'--baseline {item!r}: expected TASK=PATH')
        baselines[task] = path
    specs = parse_metric_specs(args.metric)
    unknown = [t for t in specs if t not in baselines]
    if unknown:
        raise ValueError(f'--metric names tasks without a --baseline: '
                         f'{unknown}')
    task_metrics = {}
    for task in baselines:
        if task in specs:
            task_metrics[task] = specs[task]
        elif task in DEFAULT_TASK_METRICS:
            task_metrics[task] = list(DEFAULT_TASK_METRICS[task])
        else:
            raise ValueError(f'task {task!r} has no default metric; give '
                             f'--metric {task}=KEY:lower|higher')
    all_keys = [k for specs_ in task_metrics.values() for k, _ in specs_]
    mt, mt_source = load_metrics(args.multi_task, all_keys)
    st, st_sources = {}, {}
    for task, path in baselines.items():
        st[task], st_sources[task] = load_metrics(
            path, [k for k, _ in task_metrics[task]])
    result = delta_m(mt, st, task_metrics)
    result['multi_task_source'] = mt_source
    result['baseline_sources'] = st_sources
    print(format_delta_m_table(result))
    out = args.out or osp.join(osp.dirname(mt_source), 'delta_m.json')
    atomic_write_text(out, json.dumps(result, indent=2) + '\n')
    print(f'written to {out}')
    return result


if __name__ == '__main__':
    try:
        main()
    except (KeyError, ValueError, FileNotFoundError) as e:
        sys.exit(f'{type(e).__name__}: {e}')
