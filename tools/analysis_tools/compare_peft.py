"""Train a list of configs on one dataset and compare the PEFT methods.

    python tools/analysis_tools/compare_peft.py --preset tiny \
        --work-dir work_dirs/compare_peft [--max-iters 100] \
        [--metrics mIoU rmse d1] [--baseline full-ft] [--main-metric mIoU]
    python tools/analysis_tools/compare_peft.py \
        --configs heads=configs/peft/heads-only_...py lora=configs/peft/...

For every method (``NAME=CONFIG``, or a ``--preset`` list):

1. the config, with ``--max-iters`` (every scheduler boundary, validation
   and checkpoint interval scaled with it) and ``--cfg-options`` applied, is
   written to ``<work-dir>/<name>/config.py``;
2. ``tools/train.py`` trains it (``--resume`` when an unfinished run is
   there), ``tools/test.py`` tests the last checkpoint;
3. ``tools/analysis_tools/benchmark.py --phases train`` times train steps on
   a fake batch of the config's batch size and crop (its memory column is
   the peak RSS of that process on a CPU, CUDA ``max_memory_allocated`` on
   a GPU);
4. parameters are counted on the built model: trainable and total, and the
   trainable parameters inside the backbone (prompts, PEFT modules, tuned
   biases / norms) as a share of the backbone's own parameters.

Each method's record goes to ``<work-dir>/<name>/result.json`` once all of
this is done; a rerun skips methods with a record (``--force`` redoes them),
and a killed run picks up where it stopped. The table (per-task metrics,
Δm against the ``--baseline`` row, parameters, shares, step time, memory) is
printed, then written atomically as ``compare_peft.csv`` and
``compare_peft.png`` (trainable share of the backbone on a log x axis,
``--main-metric`` on y, one labelled point per method).

Δm (:func:`mmmae.evaluation.delta_m`) here is relative to the baseline row,
by default full fine-tuning of the same multi-task model, for every task;
it is not the single-task-baseline Δm of the multi-task papers.
"""
import argparse
import csv
import io
import json
import math
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmmae.evaluation.functional.delta_m import (  # noqa: E402
    DEFAULT_TASK_METRICS, delta_m)
from mmmae.utils.atomic_io import (atomic_write_bytes,  # noqa: E402
                                   atomic_write_text)

_TINY = '1xb8-300i_nyuv2synth-64x64.py'
_B = '1xb8-amp-20k_nyuv2-640x640.py'
#: The rows of the issue, on the same frozen backbone, tasks and schedule.
PRESETS: Dict[str, List[Tuple[str, str]]] = {
    'tiny': [
        ('full-ft', f'configs/multimae/multimae_vit-tiny_depth-seg_{_TINY}'),
        ('heads-only', f'configs/peft/heads-only_multimae-tiny_depth-seg_'
         f'{_TINY}'),
        ('vpt-shallow', f'configs/prompt/vpt-shallow_multimae-tiny_p8_'
         f'{_TINY}'),
        ('vpt-deep', f'configs/prompt/vpt-deep_multimae-tiny_p8_{_TINY}'),
        ('prompt-pool', f'configs/prompt/l2p-pool_multimae-tiny_m10-l4-n4_'
         f'{_TINY}'),
        ('mt-prompt', f'configs/prompt/mtprompt_multimae-tiny_depth-seg_'
         f'{_TINY}'),
        ('task-pools', 'configs/peft/task-pool_multimae-tiny_m10-l4-n4_'
         f'depth-seg_{_TINY}'),
        ('lora', f'configs/peft/lora_multimae-tiny_r4_depth-seg_{_TINY}'),
        ('mtlora', f'configs/peft/mtlora_multimae-tiny_r4-t2_depth-seg_'
         f'{_TINY}'),
        ('adaptformer', 'configs/peft/adaptformer_multimae-tiny_b16-s0.1_'
         f'depth-seg_{_TINY}'),
        ('houlsby', f'configs/peft/houlsby_multimae-tiny_b16_depth-seg_'
         f'{_TINY}'),
        ('bitfit', f'configs/peft/bitfit_multimae-tiny_depth-seg_{_TINY}'),
        ('ln-tuning', f'configs/peft/ln-tuning_multimae-tiny_depth-seg_'
         f'{_TINY}'),
    ],
    'vit-b-light': [
        ('full-ft', f'configs/multimae/multimae_vit-b_depth-seg_{_B}'),
        ('heads-only', f'configs/peft/heads-only_multimae-b_depth-seg-light_'
         f'{_B}'),
        ('vpt-shallow', f'configs/prompt/vpt-shallow_multimae-b_p50-light_'
         f'{_B}'),
        ('vpt-deep', f'configs/prompt/vpt-deep_multimae-b_p50-light_{_B}'),
        ('prompt-pool', 'configs/prompt/l2p-pool_multimae-b_m10-l5-n5-light_'
         f'{_B}'),
        ('mt-prompt', f'configs/prompt/mtprompt_multimae-b_depth-seg-light_'
         f'{_B}'),
        ('task-pools', 'configs/peft/task-pool_multimae-b_m10-l5-n5_'
         f'depth-seg-light_{_B}'),
        ('lora', f'configs/peft/lora_multimae-b_r8_depth-seg-light_{_B}'),
        ('mtlora', f'configs/peft/mtlora_multimae-b_r16-t4_depth-seg-light_'
         f'{_B}'),
        ('adaptformer', 'configs/peft/adaptformer_multimae-b_b64-s0.1_'
         f'depth-seg-light_{_B}'),
        ('houlsby', f'configs/peft/houlsby_multimae-b_b64_depth-seg-light_'
         f'{_B}'),
        ('bitfit', f'configs/peft/bitfit_multimae-b_depth-seg-light_{_B}'),
        ('ln-tuning', f'configs/peft/ln-tuning_multimae-b_depth-seg-light_'
         f'{_B}'),
    ],
}
COLUMNS = ('trainable_params', 'total_params', 'trainable_pct',
           'backbone_params', 'backbone_trainable', 'backbone_share_pct',
           'train_s_per_iter', 'peak_mib')


# --------------------------------------------------------------- methods
def parse_methods(configs: Optional[Sequence[str]],
                  preset: Optional[str]) -> List[Tuple[str, str]]:
    """``NAME=CONFIG`` items or a preset -> [(name, config path)]."""
    methods = list(PRESETS[preset]) if preset else []
    for item in configs or []:
        name, sep, path = item.partition('=')
        if not sep or not name or not path:
            raise ValueError(f'--configs {item!r}: expected NAME=CONFIG')
        methods.append((name, path))
    if not methods:
        raise ValueError('give --configs NAME=CONFIG ... or --preset '
                         f'({sorted(PRESETS)})')
    names = [n for n, _ in methods]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'method names {dup} are given twice')
    for name, path in methods:
        if os.sep in name or name.startswith('.'):
            raise ValueError(f'method name {name!r} must be a plain name '
                             '(it names a directory)')
        if not osp.isfile(osp.join(REPO, path)) and not osp.isfile(path):
            raise FileNotFoundError(f'method {name!r}: config {path} not '
                                    'found')
    return [(n, p if osp.isfile(p) else osp.join(REPO, p))
            for n, p in methods]


def scale_schedule(cfg, max_iters: int) -> None:
    """Shorten an iteration-based schedule to ``max_iters``: scheduler
    boundaries scale with it; validation and the checkpoint at the end."""
    train_cfg = cfg.train_cfg
    if 'max_iters' not in train_cfg:
        raise ValueError(f'--max-iters needs an iteration-based train_cfg; '
                         f'this one is {dict(train_cfg)}')
    factor = max_iters / train_cfg.max_iters
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    kept, moved = [], {}  # moved: old boundary -> new, for chained ones
    for sched in schedulers:
        old = sched.get('begin', 0)
        begin = moved.get(old, round(old * factor))
        if begin >= max_iters:
            continue  # would start after the shortened run
        sched['begin'] = begin
        if sched.get('end') is not None:
            # At least one iteration long, as mmengine requires.
            old, sched['end'] = sched['end'], min(
                max_iters, max(begin + 1, round(sched['end'] * factor)))
            moved[old] = sched['end']
        if 'T_max' in sched:
            sched['T_max'] = max(1, round(sched['T_max'] * factor))
        kept.append(sched)
    if schedulers:
        cfg.param_scheduler = kept
    train_cfg.max_iters = max_iters
    train_cfg.val_interval = max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    logger = cfg.default_hooks.get('logger')
    if logger is not None:
        logger.interval = max(1, min(logger.get('interval', 50),
                                     max_iters // 4 or 1))


def prepare_config(src: str, dst_dir: str, max_iters: Optional[int],
                   cfg_options: Optional[dict]):
    """The method's config, adjusted and written to ``dst_dir/config.py``."""
    from mmengine.config import Config
    cfg = Config.fromfile(src)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if max_iters:
        scale_schedule(cfg, max_iters)
    os.makedirs(dst_dir, exist_ok=True)
    path = osp.join(dst_dir, 'config.py')
    atomic_write_text(path, cfg.pretty_text)
    return cfg, path


# ------------------------------------------------------------------ steps
def run(cmd: List[str], log_path: str, what: str) -> None:
    """Run a tool, its output into ``log_path``; raise naming the log."""
    proc = subprocess.run([sys.executable] + cmd, cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    atomic_write_text(log_path, proc.stdout)
    if proc.returncode:
        raise RuntimeError(f'{what} failed (exit {proc.returncode}); log: '
                           f'{log_path}\n{proc.stdout[-2000:]}')


def last_checkpoint(work_dir: str, max_iters: int) -> Optional[str]:
    path = osp.join(work_dir, f'iter_{max_iters}.pth')
    return path if osp.isfile(path) else None


def train(cfg_path: str, work_dir: str, max_iters: int) -> str:
    ckpt = last_checkpoint(work_dir, max_iters)
    if ckpt:
        return ckpt
    cmd = ['tools/train.py', cfg_path, '--work-dir', work_dir]
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        cmd.append('--resume')  # a killed run continues
    run(cmd, osp.join(work_dir, 'train.log'), f'training {cfg_path}')
    ckpt = last_checkpoint(work_dir, max_iters)
    if ckpt is None:
        raise RuntimeError(f'training {cfg_path} left no iter_{max_iters}'
                           f'.pth in {work_dir}')
    return ckpt


def _load_metrics_tool():
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from delta_m import load_metrics
    return load_metrics


def test(cfg_path: str, ckpt: str, work_dir: str,
         keys: Sequence[str]) -> dict:
    load_metrics = _load_metrics_tool()
    test_dir = osp.join(work_dir, 'test')
    try:
        return load_metrics(test_dir, keys)[0]
    except (FileNotFoundError, KeyError):
        pass
    run(['tools/test.py', cfg_path, ckpt, '--work-dir', test_dir],
        osp.join(work_dir, 'test.log'), f'testing {ckpt}')
    return load_metrics(test_dir, keys)[0]


def bench(cfg_path: str, work_dir: str, batch_size: int, iters: int) -> dict:
    out = osp.join(work_dir, 'benchmark.json')
    if not osp.isfile(out):
        run(['tools/analysis_tools/benchmark.py', cfg_path, '--phases',
             'train', '--batch-size', str(batch_size), '--iters', str(iters),
             '--warmup', '1', '--out', out],
            osp.join(work_dir, 'benchmark.log'), f'benchmarking {cfg_path}')
    with open(out, encoding='utf-8') as f:
        return json.load(f)


def count_params(cfg) -> dict:
    """Trainable/total parameters and the backbone-side trainable share."""
    from mmmae.registry import MODELS
    from mmmae.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(cfg.model)
    params = list(model.named_parameters())
    backbone = getattr(model, 'backbone', None)
    if backbone is None:
        raise ValueError(f'{type(model).__name__} has no backbone to '
                         'measure a trainable share against')
    plugin = ('prompt.', 'peft.')
    own = [(n, p) for n, p in backbone.named_parameters()
           if not n.startswith(plugin)]
    in_backbone = [p for _, p in backbone.named_parameters()
                   if p.requires_grad]
    total = sum(p.numel() for _, p in params)
    trainable = sum(p.numel() for _, p in params if p.requires_grad)
    base = sum(p.numel() for _, p in own)
    bb_trainable = sum(p.numel() for p in in_backbone)
    return dict(
        trainable_params=trainable, total_params=total,
        trainable_pct=100. * trainable / total, backbone_params=base,
        backbone_trainable=bb_trainable,
        backbone_share_pct=100. * bb_trainable / base)


def task_metric_specs(cfg) -> Dict[str, list]:
    """task -> [(key, lower_is_better)] for the config's dense heads."""
    heads = cfg.model.get('decode_heads') or {}
    specs = {}
    for task in heads:
        if task not in DEFAULT_TASK_METRICS:
            raise KeyError(f'task {task!r} has no default metric (known: '
                           f'{sorted(DEFAULT_TASK_METRICS)})')
        specs[task] = list(DEFAULT_TASK_METRICS[task])
    if not specs:
        raise ValueError('the config has no model.decode_heads: '
                         'compare_peft compares dense multi-task models')
    return specs


def evaluate_method(name: str, config: str, args,
                    cfg_options: Optional[dict]) -> dict:
    """Train, test, time and count one method; cached in result.json."""
    work_dir = osp.join(args.work_dir, name)
    record_path = osp.join(work_dir, 'result.json')
    if osp.isfile(record_path) and not args.force:
        with open(record_path, encoding='utf-8') as f:
            record = json.load(f)
        print(f'[{name}] done before, skipped ({record_path})')
        return record
    cfg, cfg_path = prepare_config(config, work_dir, args.max_iters,
                                   cfg_options)
    specs = task_metric_specs(cfg)
    keys = list(dict.fromkeys(
        [k for s in specs.values() for k, _ in s] + list(args.metrics or [])))
    max_iters = cfg.train_cfg.max_iters
    print(f'[{name}] training {config} for {max_iters} iterations')
    ckpt = train(cfg_path, work_dir, max_iters)
    print(f'[{name}] testing {ckpt}')
    metrics = test(cfg_path, ckpt, work_dir, keys)
    print(f'[{name}] timing train steps')
    timing = bench(cfg_path, work_dir, cfg.train_dataloader.batch_size,
                   args.bench_iters)
    record = dict(name=name, config=osp.relpath(config, REPO),
                  iters=max_iters, tasks=specs,
                  metrics={k: float(metrics[k]) for k in keys},
                  train_s_per_iter=timing['train']['s_per_iter'],
                  peak_mib=timing['train']['memory']['peak_mib'],
                  memory_kind=timing['train']['memory']['kind'],
                  device=timing['device_name'], **count_params(cfg))
    atomic_write_text(record_path, json.dumps(record, indent=2) + '\n')
    return record


# ------------------------------------------------------------------ table
def build_table(records: List[dict], baseline: Optional[str],
                metrics: Optional[Sequence[str]] = None) -> List[dict]:
    """Rows of the comparison, Δm against ``baseline`` where given."""
    by_name = {r['name']: r for r in records}
    if baseline is not None and baseline not in by_name:
        raise KeyError(f'--baseline {baseline!r} is not a method (methods: '
                       f'{list(by_name)})')
    rows = []
    for r in records:
        keys = list(metrics) if metrics else list(r['metrics'])
        missing = [k for k in keys if k not in r['metrics']]
        if missing:
            raise KeyError(f'method {r["name"]!r} has no metric {missing} '
                           f'(it has {sorted(r["metrics"])})')
        row = dict(method=r['name'], config=r['config'], iters=r['iters'])
        row.update({k: r['metrics'][k] for k in keys})
        if baseline is not None:
            base = by_name[baseline]
            specs = {t: [tuple(s) for s in v] for t, v in r['tasks'].items()}
            row['delta_m'] = delta_m(
                r['metrics'], {t: base['metrics'] for t in specs},
                specs)['delta_m']
        row.update({c: r[c] for c in COLUMNS})
        rows.append(row)
    return rows


def _fmt(value) -> str:
    if isinstance(value, float):
        if value != 0 and abs(value) < 0.01:
            return f'{value:.2e}'
        return f'{value:.4g}' if abs(value) < 1e4 else f'{value:.0f}'
    return str(value)


def format_table(rows: List[dict]) -> str:
    cols = [c for c in rows[0] if c != 'config']
    cells = [[_fmt(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells))
              for i, c in enumerate(cols)]
    line = lambda vals: '| ' + ' | '.join(  # noqa: E731
        v.ljust(w) for v, w in zip(vals, widths)) + ' |'
    out = [line(cols), '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    out += [line(c) for c in cells]
    return '\n'.join(out)


def write_csv(rows: List[dict], path: str) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def write_plot(rows: List[dict], metric: str, path: str,
               title: str = '') -> None:
    """Trainable share of the backbone (x) against ``metric`` (y), one
    labelled point per method, as a PNG.

    x is logarithmic above 0.01 % and linear below (``symlog``), so heads
    only (0 % of the backbone) is on the plot too. The share of the whole
    model would bunch every frozen-backbone method at the heads' share.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    if metric not in rows[0]:
        raise KeyError(f'--main-metric {metric!r} is not a column (columns: '
                       f'{[c for c in rows[0] if c != "config"]})')
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for i, r in enumerate(rows):
        x, y = r['backbone_share_pct'], r[metric]
        if not (math.isfinite(x) and math.isfinite(y)):
            continue
        ax.scatter([x], [y], s=28)
        # Alternate label sides so neighbours do not print over each other.
        ax.annotate(r['method'], (x, y), textcoords='offset points',
                    xytext=(4, 4 if i % 2 else -10), fontsize=8)
    ax.set_xscale('symlog', linthresh=0.01)
    ax.set_xlabel('trainable parameters inside the backbone '
                  '(% of the backbone; log above 0.01 %)')
    ax.set_ylabel(metric)
    ax.set_title(title, fontsize=9)
    ax.grid(True, which='both', alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png')
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


# ------------------------------------------------------------------- main
def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Train configs on one dataset and compare PEFT methods')
    parser.add_argument('--configs', nargs='+', metavar='NAME=CONFIG',
                        help='methods to compare, in row order')
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        help='the issue-14 method list (before --configs)')
    parser.add_argument('--work-dir', default='work_dirs/compare_peft')
    parser.add_argument('--max-iters', type=int,
                        help='shorten every schedule to this many '
                        'iterations (scheduler boundaries scale with it)')
    parser.add_argument('--metrics', nargs='+',
                        help='metric columns (default: each task\'s Δm '
                        'metric, e.g. mIoU and rmse); more may be added, '
                        'e.g. d1')
    parser.add_argument('--baseline', help='method Δm is relative to '
                        '(default: full-ft when present)')
    parser.add_argument('--main-metric', help='y of the plot (default: '
                        'delta_m with a baseline, else the first metric)')
    parser.add_argument('--bench-iters', type=int, default=5,
                        help='timed train steps per method')
    parser.add_argument('--force', action='store_true',
                        help='redo methods that have a result.json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every config')
    args = parser.parse_args(argv)
    if args.max_iters is not None and args.max_iters < 1:
        parser.error(f'--max-iters {args.max_iters} must be >= 1')
    return args


def main(argv=None) -> List[dict]:
    args = parse_args(argv)
    methods = parse_methods(args.configs, args.preset)
    records = [evaluate_method(name, config, args, args.cfg_options)
               for name, config in methods]
    names = [n for n, _ in methods]
    baseline = args.baseline or ('full-ft' if 'full-ft' in names else None)
    rows = build_table(records, baseline, args.metrics)
    metric_cols = [c for c in rows[0] if c not in
                   ('method', 'config', 'iters', 'delta_m') + COLUMNS]
    main_metric = args.main_metric or (
        'delta_m' if baseline else metric_cols[0])
    print(format_table(rows))
    os.makedirs(args.work_dir, exist_ok=True)
    csv_path = osp.join(args.work_dir, 'compare_peft.csv')
    png_path = osp.join(args.work_dir, 'compare_peft.png')
    write_csv(rows, csv_path)
    iters = sorted({r['iters'] for r in rows})
    write_plot(rows, main_metric, png_path,
               title=f'{len(rows)} methods, {iters} iterations'
               + (f', Δm vs {baseline}' if baseline else ''))
    print(f'written {csv_path} and {png_path}')
    return rows


if __name__ == '__main__':
    try:
        main()
    except (KeyError, ValueError, FileNotFoundError, RuntimeError) as e:
        sys.exit(f'{type(e).__name__}: {e}')
