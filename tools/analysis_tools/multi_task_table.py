"""One table comparing multi-task runs: per-task metrics, Δm, trainable share.

    python tools/analysis_tools/multi_task_table.py \
        --run "full fine-tuning"=work_dirs/ft "multi-task prompts"=work_dirs/mtp \
        --baseline semseg=work_dirs/st_semseg depth=work_dirs/st_depth \
                   normals=work_dirs/st_normals edge=work_dirs/st_edge \
        [--out work_dirs/table.json]

Each path is a work directory or a metrics file, read as
``tools/analysis_tools/delta_m.py`` reads them (the newest test metrics
first). Every task uses its Δm metric (``DEFAULT_TASK_METRICS``: semseg
mIoU, depth RMSE, normals mean angle, edge odsF, ...) and Δm is computed
against the single-task baselines (:func:`mmmae.evaluation.delta_m`). The
trainable share is the percentage ``TrainableParamsHook`` logs at the start
of each run (newest log of the work directory). The table is printed and
written, atomically, as JSON.
"""
import argparse
import glob
import importlib.util
import json
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)  # run from a checkout without `pip install -e .`

from mmmae.evaluation.functional.delta_m import (  # noqa: E402
    DEFAULT_TASK_METRICS, delta_m)
from mmmae.utils.atomic_io import atomic_write_text  # noqa: E402


def _delta_m_tool():
    """tools/analysis_tools/delta_m.py as a module (its metrics loader)."""
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'delta_m.py')
    spec = importlib.util.spec_from_file_location('_delta_m_tool', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_SHARE = re.compile(r'TrainableParamsHook: trainable parameters (\S+) / '
                    r'(\S+) \(([\d.]+)%\)')


def trainable_share(work_dir: str) -> Optional[dict]:
    """``trainable``, ``total`` (as logged, e.g. '883.6K') and ``percent``
    from the newest log in ``work_dir`` that has the hook's line."""
    if not osp.isdir(work_dir):
        return None
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')), reverse=True)
    for log in logs:
        with open(log, encoding='utf-8', errors='replace') as f:
            match = _SHARE.search(f.read())
        if match:
            return dict(trainable=match.group(1), total=match.group(2),
                        percent=float(match.group(3)))
    return None


def _pairs(items: Sequence[str], option: str) -> Dict[str, str]:
    out = {}
    for item in items:
        name, sep, path = item.partition('=')
        if not sep or not name or not path:
            raise ValueError(f'{option} {item!r}: expected NAME=PATH')
        out[name] = path
    return out


def build_table(runs: Dict[str, str], baselines: Dict[str, str]) -> dict:
    """Metrics, Δm and trainable share of each run (and the baselines)."""
    load_metrics = _delta_m_tool().load_metrics
    unknown = [t for t in baselines if t not in DEFAULT_TASK_METRICS]
    if unknown:
        raise ValueError(f'tasks {unknown} have no default Δm metric '
                         f'(known: {sorted(DEFAULT_TASK_METRICS)})')
    task_metrics = {t: DEFAULT_TASK_METRICS[t] for t in baselines}
    keys = [k for specs in task_metrics.values() for k, _ in specs]
    single = {}
    for task, path in baselines.items():
        single[task], _ = load_metrics(path, [k for k, _ in
                                              task_metrics[task]])
    table = dict(tasks={t: [k for k, _ in s] for t, s in task_metrics.items()},
                 lower_is_better={k: lo for s in task_metrics.values()
                                  for k, lo in s},
                 single_task=dict(
                     metrics={k: single[t][k] for t, s in task_metrics.items()
                              for k, _ in s},
                     trainable={t: trainable_share(p)
                                for t, p in baselines.items()}),
                 runs={})
    for name, path in runs.items():
        metrics, source = load_metrics(path, keys)
        result = delta_m(metrics, single, task_metrics)
        table['runs'][name] = dict(
            source=source, metrics={k: metrics[k] for k in keys},
            delta_m=result['delta_m'],
            task_delta={t: r['delta'] for t, r in result['tasks'].items()},
            trainable=trainable_share(path))
    return table


def format_table(table: dict) -> str:
    """Rows: each task's metric, Δm, trainable share; columns: the
    single-task baselines, then each run."""
    runs = list(table['runs'])
    header = ['task', 'metric', 'single-task'] + runs
    rows: List[List[str]] = []
    for task, keys in table['tasks'].items():
        for key in keys:
            arrow = '↓' if table['lower_is_better'][key] else '↑'
            row = [task, f'{key} {arrow}',
                   f"{table['single_task']['metrics'][key]:.4g}"]
            for r in runs:
                run = table['runs'][r]
                row.append(f"{run['metrics'][key]:.4g} "
                           f"({run['task_delta'][task]:+.1f}%)")
            rows.append(row)
    rows.append(['Δm (%)', '', '0'] +
                [f"{table['runs'][r]['delta_m']:+.2f}" for r in runs])

    def share(s):
        return '?' if s is None else f"{s['percent']:.2f}% ({s['trainable']})"

    shares = [s for s in table['single_task']['trainable'].values() if s]
    rows.append(['trainable', '', share(shares[0]) if shares else '?'] +
                [share(table['runs'][r]['trainable']) for r in runs])
    widths = [max(len(x[i]) for x in [header] + rows)
              for i in range(len(header))]

    def fmt(row):
        return ' | '.join(c.ljust(w) for c, w in zip(row, widths))

    sep = '-+-'.join('-' * w for w in widths)
    return '\n'.join([fmt(header), sep] + [fmt(r) for r in rows[:-2]] +
                     [sep] + [fmt(r) for r in rows[-2:]])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Per-task metrics, Δm and trainable share of multi-task '
        'runs against single-task baselines')
    parser.add_argument('--run', nargs='+', required=True,
                        metavar='NAME=PATH', help='multi-task runs (work dir '
                        'or metrics file), one column each')
    parser.add_argument('--baseline', nargs='+', required=True,
                        metavar='TASK=PATH', help='single-task baseline of '
                        'each task; the tasks named here are the T tasks')
    parser.add_argument('--out', help='JSON output (default: none)')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    table = build_table(_pairs(args.run, '--run'),
                        _pairs(args.baseline, '--baseline'))
    print(format_table(table))
    if args.out:
        atomic_write_text(args.out, json.dumps(table, indent=2) + '\n')
        print(f'written to {args.out}')
    return table


if __name__ == '__main__':
    try:
        main()
    except (KeyError, ValueError, FileNotFoundError) as e:
        sys.exit(f'{type(e).__name__}: {e}')
