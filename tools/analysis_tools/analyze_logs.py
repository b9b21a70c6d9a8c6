"""Plot the curves and measure the training time of mmmae's json logs.

    python tools/analysis_tools/analyze_logs.py plot_curve LOG [LOG ...]
        [--keys loss mIoU] [--legend ...] [--title T] [--out curves.png]
        [--style dark] [--backend agg]
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG [LOG ...]
        [--include-outliers]

As the analyze_logs.py of mmseg, mmdet and mmpretrain, with matplotlib only
(no seaborn: ``--style dark`` is matplotlib's copy of seaborn's style). A LOG
is what mmengine writes, one JSON object per line:
``work_dirs/X/<timestamp>/vis_data/scalars.json`` (or ``<timestamp>.json``
beside it), or a work dir or run dir (its newest ``scalars.json`` is used).

- Train entries (those with ``iter``) are plotted by iteration; validation
  entries (metrics with a ``step``) by their step: the iteration, or the
  epoch in an epoch-based run. A key logged by both (``time``) gives two
  curves.
- Keys are exact (``decode_depth.loss_berhu``, ``mIoU``) or patterns
  (``'*loss*'``, ``'decode_semseg.*'``), handy for multi-task runs.
- Each key gets its own panel (a loss and an mIoU do not share a scale),
  titled by the key, with axis labels and a legend of the runs.
"""
import argparse
import fnmatch
import glob
import io
import json
import math
import os.path as osp
import sys
from difflib import get_close_matches
from typing import Dict, List, Optional

# Run from a checkout without `pip install -e .`.
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmmae.utils.atomic_io import DiskFullError, atomic_write_bytes  # noqa: E402,E501

# Bookkeeping fields, never curves of their own.
_INDEX_KEYS = ('step', 'iter', 'epoch')


class LogFormatError(ValueError):
    """A file is not an mmengine JSON-lines log."""


class LogKeyError(KeyError):
    """A requested key is in none of the logs."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0])


def find_log(path: str) -> str:
    """``path`` itself for a file; for a work dir or a run dir, the newest
    ``vis_data/scalars.json`` below it."""
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise FileNotFoundError(f'log not found: {path}')
    found = sorted(glob.glob(osp.join(path, 'vis_data', 'scalars.json')) +
                   glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    if not found:
        raise FileNotFoundError(
            f'{path} is a folder without <timestamp>/vis_data/scalars.json '
            '(mmengine writes it when a run logs); pass the json file')
    return found[-1]  # timestamps sort in time order


def load_json_log(path: str) -> dict:
    """Read one log.

    Returns:
        dict: ``path``, ``train`` (entries with ``iter``), ``val`` (entries
        with a ``step`` and no ``iter``), and ``by_epoch`` (the train
        entries carry an ``epoch``).

    Raises:
        LogFormatError: a line is not a JSON object, or no line is an
            mmengine train or validation entry.
    """
    train, val = [], []
    with open(path, encoding='utf-8', errors='replace') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                raise LogFormatError(
                    f'{path} is not a JSON-lines log: line {number} is not '
                    f'JSON ({e.msg}): {line.strip()[:80]!r}; pass '
                    '<work_dir>/<timestamp>/vis_data/scalars.json') from e
            if not isinstance(entry, dict):
                raise LogFormatError(
                    f'{path} is not a JSON-lines log: line {number} is a '
                    f'{type(entry).__name__}, not an object')
            if 'iter' in entry:
                train.append(entry)
            elif 'step' in entry:
                val.append(entry)
    if not train and not val:
        raise LogFormatError(
            f'{path} has no mmengine train or validation entry (lines with '
            '"iter" or "step"); a tools/test.py result file has no curve')
    return dict(path=path, train=train, val=val,
                by_epoch=any('epoch' in e for e in train))


def _numeric_keys(entries: List[dict]) -> List[str]:
    keys = {k for e in entries for k, v in e.items()
            if isinstance(v, (int, float)) and k not in _INDEX_KEYS}
    return sorted(keys)


def expand_keys(patterns: List[str], logs: List[dict]) -> List[str]:
    """Exact keys and ``fnmatch`` patterns -> the keys to plot, in order.

    Raises:
        LogKeyError: a key or pattern matches nothing in any log; the
            message lists the keys present.
    """
    present = []
    for log in logs:
        for part in ('train', 'val'):
            present += [k for k in _numeric_keys(log[part])
                        if k not in present]
    keys = []
    for pattern in patterns:
        matched = [k for k in present if fnmatch.fnmatchcase(k, pattern)]
        if not matched:
            close = get_close_matches(pattern, present, n=3)
            hint = f' Did you mean {close}?' if close else ''
            listing = '; '.join(
                f'{log["path"]}: train {_numeric_keys(log["train"])}, '
                f'val {_numeric_keys(log["val"])}' for log in logs)
            raise LogKeyError(f'key {pattern!r} is not in the log(s).{hint} '
                              f'Keys present: {listing}')
        keys += [k for k in matched if k not in keys]
    return keys


def curves(log: dict, key: str) -> List[dict]:
    """The curves of ``key`` in ``log``: a train one by ``step`` (the
    iteration), a val one by ``step`` (iteration or epoch)."""
    out = []
    for part in ('train', 'val'):
        points = [(e['step'] if 'step' in e else e['iter'], e[key])
                  for e in log[part] if isinstance(e.get(key), (int, float))]
        if points:
            xlabel = 'epoch' if part == 'val' and log['by_epoch'] else 'iter'
            out.append(dict(part=part, x=[p[0] for p in points],
                            y=[p[1] for p in points], xlabel=xlabel))
    return out


def run_name(path: str) -> str:
    """``X`` for ``work_dirs/X/<timestamp>/vis_data/scalars.json``."""
    parts = osp.normpath(osp.abspath(path)).split(osp.sep)
    if len(parts) >= 4 and parts[-2] == 'vis_data':
        return parts[-4]
    return path


def _legends(args, logs, keys) -> Dict[tuple, str]:
    """``(log index, key) -> label``: ``--legend`` gives one per log, or one
    per log and key (mmseg's order: log-major)."""
    given = args.legend
    n = len(logs)
    if given is not None and len(given) not in (n, n * len(keys)):
        raise ValueError(
            f'--legend has {len(given)} entries; give one per log ({n}) or '
            f'one per log and key ({n} x {len(keys)} = {n * len(keys)})')
    names = [run_name(log['path']) for log in logs]
    if len(set(names)) < n:
        names = [log['path'] for log in logs]
    labels = {}
    for i in range(n):
        for j, key in enumerate(keys):
            if given is None:
                labels[i, key] = names[i] if n > 1 else key
            elif len(given) == n:
                labels[i, key] = given[i]
            else:
                labels[i, key] = given[i * len(keys) + j]
    return labels


def matplotlib_style(name: str) -> str:
    """A style name of matplotlib; seaborn's names (``dark``,
    ``whitegrid``...) map to matplotlib's copies of them."""
    import matplotlib.pyplot as plt
    for candidate in (name, f'seaborn-v0_8-{name}', f'seaborn-{name}'):
        if candidate in plt.style.available:
            return candidate
    raise ValueError(f'--style {name!r} is not a matplotlib style; '
                     f'available: {sorted(plt.style.available)}')


def draw(logs: List[dict], keys: List[str], labels: Dict[tuple, str],
         style: str, title: Optional[str] = None):
    """The figure: one panel per key, titled by it, with axis labels and a
    legend; validation curves have markers."""
    import matplotlib.pyplot as plt
    cols = min(len(keys), 3)
    rows = math.ceil(len(keys) / cols)
    with plt.style.context(style):
        fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4 * rows),
                                 squeeze=False)
        for ax, key in zip(axes.flat, keys):
            xlabels = set()
            for i, log in enumerate(logs):
                found = curves(log, key)
                both = len(found) == 2
                for c in found:
                    label = labels[i, key] + (
                        f' ({c["part"]})' if both else '')
                    print(f'plot curve of {log["path"]}, key {key} '
                          f'({c["part"]}, {len(c["x"])} points)')
                    val = c['part'] == 'val'
                    ax.plot(c['x'], c['y'], label=label,
                            marker='o' if val else None,
                            linewidth=1.5 if val else 1)
                    xlabels.add(c['xlabel'])
            ax.set_title(key)
            ax.set_xlabel(' / '.join(sorted(xlabels)))
            ax.set_ylabel(key)
            ax.legend()
        for ax in list(axes.flat)[len(keys):]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
    return fig


def plot_curve(logs: List[dict], args) -> Optional[str]:
    """Draw the keys' curves; save to ``args.out`` (atomically) or show.

    Returns:
        str | None: the file written.
    """
    import matplotlib
    if args.backend:
        matplotlib.use(args.backend)
    elif args.out:
        matplotlib.use('Agg')  # no display needed to write a file
    import matplotlib.pyplot as plt

    keys = expand_keys(args.keys, logs)
    labels = _legends(args, logs, keys)
    fig = draw(logs, keys, labels, matplotlib_style(args.style), args.title)
    if not args.out:
        plt.show()
        plt.close(fig)
        return None
    fmt = osp.splitext(args.out)[1][1:].lower() or 'png'
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=args.dpi)
    plt.close(fig)
    atomic_write_bytes(args.out, buffer.getvalue())
    print(f'save curve to: {args.out}')
    return args.out


def _stats(times: List[float]) -> tuple:
    mean = sum(times) / len(times)
    std = math.sqrt(sum((t - mean) ** 2 for t in times) / len(times))
    return mean, std


def cal_train_time(logs: List[dict], args) -> List[dict]:
    """Per log: the average time per iteration over its logged intervals.

    ``time`` in a train entry is mmengine's average over the logging
    interval. The first interval of each epoch (the only one, for an
    iteration-based run) includes start-up (workers, caches) and is left
    out unless ``--include-outliers``, as OpenMMLab's tools do.

    Returns:
        list[dict]: per log, ``avg``, ``std``, ``slowest`` and ``fastest``
        (``(step, s/iter)``), ``intervals`` (how many were averaged),
        ``data_time`` and ``total_s`` (avg times the last iteration).
    """
    results = []
    for log in logs:
        entries = [e for e in log['train'] if isinstance(e.get('time'),
                                                          (int, float))]
        if not entries:
            raise LogKeyError(f'{log["path"]} has no train entry with '
                              '"time"; nothing to time')
        kept, seen = [], set()
        for e in entries:
            group = e.get('epoch')
            if group not in seen and not args.include_outliers:
                seen.add(group)
                continue
            seen.add(group)
            kept.append(e)
        if not kept:
            raise LogKeyError(
                f'{log["path"]} has only the first logged interval, which '
                'is left out as start-up; pass --include-outliers')
        times = [e['time'] for e in kept]
        avg, std = _stats(times)
        slow = max(kept, key=lambda e: e['time'])
        fast = min(kept, key=lambda e: e['time'])
        data = [e['data_time'] for e in kept
                if isinstance(e.get('data_time'), (int, float))]
        last = max(e.get('step', e['iter']) for e in entries)
        result = dict(path=log['path'], avg=avg, std=std,
                      slowest=(slow.get('step', slow['iter']), slow['time']),
                      fastest=(fast.get('step', fast['iter']), fast['time']),
                      intervals=len(kept),
                      data_time=sum(data) / len(data) if data else None,
                      total_s=avg * last, last_iter=last)
        results.append(result)
        print(f'-----Analyze train time of {log["path"]}-----')
        print(f'slowest interval: ending at iter {result["slowest"][0]}, '
              f'{result["slowest"][1]:.4f} s/iter')
        print(f'fastest interval: ending at iter {result["fastest"][0]}, '
              f'{result["fastest"][1]:.4f} s/iter')
        print(f'time std over {len(kept)} logged intervals: {std:.4f} s/iter'
              + ('' if args.include_outliers else
                 ' (the first interval of each epoch left out)'))
        if result['data_time'] is not None:
            print(f'average data time: {result["data_time"]:.4f} s/iter')
        print(f'average iter time: {avg:.4f} s/iter; {last} iterations '
              f'take about {_hms(result["total_s"])}')
    return results


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f'{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Analyze json logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of some keys')
    plot.add_argument('json_logs', nargs='+',
                      help='json logs (vis_data/scalars.json) or work dirs')
    plot.add_argument('--keys', nargs='+', default=['loss'],
                      help='keys to plot; fnmatch patterns ("*loss*") '
                      'match every key they fit')
    plot.add_argument('--title', help='title of the figure')
    plot.add_argument('--legend', nargs='+', default=None,
                      help='legend of each log (or of each log and key)')
    plot.add_argument('--backend', default=None, help='matplotlib backend')
    plot.add_argument('--style', default='dark',
                      help='matplotlib style; seaborn names (dark, '
                      'whitegrid, ...) work without seaborn')
    plot.add_argument('--out', default=None,
                      help='save the figure (.png, .pdf, .svg) instead of '
                      'showing it')
    plot.add_argument('--dpi', type=int, default=100)
    time = sub.add_parser('cal_train_time',
                          help='average time per iteration')
    time.add_argument('json_logs', nargs='+',
                      help='json logs (vis_data/scalars.json) or work dirs')
    time.add_argument('--include-outliers', action='store_true',
                      help='keep the first logged interval of each epoch')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logs = [load_json_log(find_log(p)) for p in args.json_logs]
    if args.task == 'plot_curve':
        return plot_curve(logs, args)
    return cal_train_time(logs, args)


if __name__ == '__main__':
    try:
        main()
    except (LogFormatError, LogKeyError, FileNotFoundError, DiskFullError,
            ValueError) as e:
        sys.exit(f'{type(e).__name__}: {e}')
