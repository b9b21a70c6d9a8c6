"""One table from the JSON files of ``tools/misc/gpu_check.sh``.

    python tools/analysis_tools/gpu_check_table.py DIR [--out table.md]

``DIR`` holds what the check wrote:

* ``<run>__compile-off.json`` / ``<run>__compile-on.json``: ``benchmark.py
  --phases train --out`` of each model run (AMP train step: img/s, s/iter,
  peak memory, MFU against the GEMM peak in the train dtype);
* ``data__pipeline.json``: ``benchmark.py --phases data`` (one process:
  pipeline samples/s, decode floor, their ratio);
* ``data__loader.json``: ``dataloader_speed.py`` (the config's
  DataLoader with its workers).

A run whose JSON is missing (its command failed) is a FAILED row naming
its log (``<name>.log`` beside it), and the exit status is 1, so a broken
step cannot hide in the table.
"""
import argparse
import glob
import json
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmmae.utils.atomic_io import atomic_write_text  # noqa: E402

COMPILE_STATES = ('compile-off', 'compile-on')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('dir', help='folder of the check\'s JSON files')
    parser.add_argument('--runs', nargs='+', default=None,
                        help='expected run names, in table order (default: '
                        'those found)')
    parser.add_argument('--out', help='also write the table (markdown)')
    return parser.parse_args(argv)


def _load(path: str) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _fmt(value, spec: str = '.3g') -> str:
    return '-' if value is None else format(value, spec)


def model_row(run: str, state: str, result: Optional[dict],
              log: str) -> List[str]:
    if result is None or 'train' not in result:
        return [run, state, 'FAILED', '-', '-', '-', '-', '-',
                f'no result; see {log}']
    t = result['train']
    c = result.get('compile') or {}
    note = t.get('note', '')
    if c.get('asked') and not c.get('enabled'):
        note = f"compile fell back to eager: {c.get('fallback_reason')}"
    return [run, state, osp.basename(result['config']),
            str(result['batch_size']), t.get('dtype', '?'),
            _fmt(t['images_per_s'], '.1f'),
            _fmt(t['memory']['peak_mib'], '.0f'),
            _fmt(result.get('mfu_train'), '.3f'), note]


def data_rows(folder: str) -> List[List[str]]:
    rows = []
    pipe = _load(osp.join(folder, 'data__pipeline.json'))
    if pipe is None or pipe.get('pipeline_samples_per_s') is None:
        rows.append(['data pipeline, 1 process', 'FAILED', '-', '-',
                     f"no result; see {osp.join(folder, 'data__pipeline.log')}"
                     ])
    else:
        rows.append(['data pipeline, 1 process',
                     osp.basename(pipe['config']),
                     _fmt(pipe['pipeline_samples_per_s'], '.1f'),
                     _fmt(pipe['decode_floor_samples_per_s'], '.1f'),
                     f"pipeline/floor {pipe['pipeline_to_floor']:.2f}"])
    loader = _load(osp.join(folder, 'data__loader.json'))
    if loader is None:
        rows.append(['dataloader, config workers', 'FAILED', '-', '-',
                     f"no result; see {osp.join(folder, 'data__loader.log')}"
                     ])
    else:
        rows.append([f"dataloader, {loader['num_workers']} workers",
                     osp.basename(loader['config']),
                     _fmt(loader['samples_per_s'], '.1f'), '-',
                     f"batch {loader['batch_size']}, {loader['samples']} "
                     'samples timed'])
    return rows


def _markdown(header: List[str], rows: List[List[str]]) -> List[str]:
    widths = [max(len(str(r[i])) for r in [header] + rows)
              for i in range(len(header))]

    def line(cells):
        return '| ' + ' | '.join(str(c).ljust(w)
                                 for c, w in zip(cells, widths)) + ' |'

    return [line(header), '|' + '|'.join('-' * (w + 2) for w in widths) + '|'
            ] + [line(r) for r in rows]


def build_table(folder: str, runs: Optional[List[str]] = None) -> tuple:
    """``(markdown table, number of failed rows)``."""
    if runs is None:
        names = [osp.basename(p).split('__')[0] for p in sorted(glob.glob(
            osp.join(folder, '*__compile-*.json')))]
        runs = list(dict.fromkeys(names))
    rows, device = [], None
    for run in runs:
        for state in COMPILE_STATES:
            stem = osp.join(folder, f'{run}__{state}')
            result = _load(stem + '.json')
            device = device or (result or {}).get('device_name')
            rows.append(model_row(run, state, result, stem + '.log'))
    drows = data_rows(folder)
    failed = sum(r[2] == 'FAILED' for r in rows) + \
        sum(r[1] == 'FAILED' for r in drows)
    lines = [f'GPU check on {device or "?"}', '']
    lines += _markdown(['run', 'compile', 'config', 'batch', 'dtype',
                        'train img/s', 'peak MiB', 'MFU', 'note'], rows)
    lines += [''] + _markdown(['data', 'config', 'samples/s',
                               'decode floor/s', 'note'], drows)
    return '\n'.join(lines), failed


def main(argv=None) -> int:
    args = parse_args(argv)
    table, failed = build_table(args.dir, args.runs)
    print(table)
    if args.out:
        atomic_write_text(args.out, table + '\n')
    if failed:
        print(f'{failed} step(s) FAILED: see their logs in {args.dir}',
              file=sys.stderr)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
