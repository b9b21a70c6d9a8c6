"""Multi-task performance Δm against single-task baselines.

    Δm = (1 / T) Σ_t Δ_t,
    Δ_t = (1 / |M_t|) Σ_{m in M_t} (-1)^{l_m} (M_mt,m - M_st,m) / M_st,m

in percent, with l_m = 1 where lower is better (Maninis et al., CVPR 2019;
Vandenhende et al., TPAMI 2021). A task with one metric reduces to the
familiar per-task term. The per-task metric choice defaults to the one of
MTI-Net's ``evaluation/evaluate_utils.py: calculate_multi_task_performance``
(the code the dense multi-task papers report Δm with): semseg and human
parts mIoU, saliency mIoU, normals mean angular error, boundary odsF and
depth RMSE, read under the keys mmmae's and mmseg's metrics log.
"""
import math
from collections import OrderedDict
from typing import Dict, Mapping, Sequence, Tuple

__all__ = ['DEFAULT_TASK_METRICS', 'delta_m', 'format_delta_m_table']

# task -> ((metric key in the run's metrics, lower is better), ...)
DEFAULT_TASK_METRICS: Dict[str, Tuple[Tuple[str, bool], ...]] = {
    'semseg': (('mIoU', False), ),  # mmseg IoUMetric
    'depth': (('rmse', True), ),  # mmseg DepthMetric
    'normals': (('normals/mean', True), ),  # NormalsMetric
    'edge': (('edge/odsF', False), ),  # BoundaryMetric
    'sal': (('sal/mIoU', False), ),  # SaliencyMetric
    'parts': (('parts/mIoU', False), ),  # HumanPartsIoUMetric
}


def _value(metrics: Mapping[str, float], key: str, where: str) -> float:
    if key not in metrics:
        raise KeyError(f'{where} has no metric {key!r} (it has: '
                       f'{sorted(metrics)})')
    value = float(metrics[key])
    if not math.isfinite(value):
        raise ValueError(f'{where}: metric {key!r} is {value}')
    return value


def delta_m(multi_task: Mapping[str, float],
            single_task: Mapping[str, Mapping[str, float]],
            task_metrics: Mapping[str, Sequence[Tuple[str, bool]]]) -> dict:
    """Δm and its per-task terms.

    Args:
        multi_task (Mapping[str, float]): Metrics of the multi-task run.
        single_task (Mapping[str, Mapping[str, float]]): For every task, the
            metrics of its single-task baseline run.
        task_metrics (Mapping[str, Sequence[Tuple[str, bool]]]): For every
            task, ``(metric key, lower_is_better)`` pairs; their terms are
            averaged within the task.

    Returns:
        dict: ``delta_m`` (percent) and ``tasks``: per task ``delta``
        (percent) and ``metrics``, a list of ``key, lower_is_better,
        multi_task, single_task, delta`` rows.
    """
    if not task_metrics:
        raise ValueError('delta_m: no task given')
    tasks = OrderedDict()
    for task, specs in task_metrics.items():
        if not specs:
            raise ValueError(f'delta_m: task {task!r} has no metric')
        if task not in single_task:
            raise KeyError(f'delta_m: no single-task baseline for task '
                           f'{task!r} (baselines: {sorted(single_task)})')
        rows = []
        for key, lower in specs:
            mt = _value(multi_task, key, 'the multi-task run')
            st = _value(single_task[task], key,
                        f'the single-task baseline of {task!r}')
            if st == 0:
                raise ValueError(f'delta_m: the {task!r} baseline has '
                                 f'{key} = 0; a relative change is undefined')
            sign = -1.0 if lower else 1.0
            rows.append(dict(key=key, lower_is_better=bool(lower),
                             multi_task=mt, single_task=st,
                             delta=100.0 * sign * (mt - st) / st))
        tasks[task] = dict(delta=sum(r['delta'] for r in rows) / len(rows),
                           metrics=rows)
    total = sum(t['delta'] for t in tasks.values()) / len(tasks)
    return dict(delta_m=total, tasks=tasks)


def format_delta_m_table(result: dict) -> str:
    """A plain-text table of :func:`delta_m`'s result."""
    header = ('task', 'metric', 'better', 'multi-task', 'single-task',
              'Δ (%)')
    lines = []
    for task, t in result['tasks'].items():
        for r in t['metrics']:
            lines.append((task, r['key'],
                          'lower' if r['lower_is_better'] else 'higher',
                          f"{r['multi_task']:.4f}", f"{r['single_task']:.4f}",
                          f"{r['delta']:+.2f}"))
    lines.append(('Δm', '', '', '', '', f"{result['delta_m']:+.2f}"))
    widths = [max(len(str(row[i])) for row in [header] + lines)
              for i in range(len(header))]

    def fmt(row):
        return ' | '.join(str(c).ljust(w) for c, w in zip(row, widths))

    sep = '-+-'.join('-' * w for w in widths)
    return '\n'.join([fmt(header), sep] + [fmt(r) for r in lines[:-1]] +
                     [sep, fmt(lines[-1])])
