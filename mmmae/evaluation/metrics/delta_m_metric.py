"""Per-task metrics plus Δm against single-task baselines given in the
config, so that every validation logs Δm next to the task metrics."""
from collections import OrderedDict
from typing import Dict, List, Mapping, Optional, Sequence

from mmengine.evaluator import BaseMetric

from mmmae.registry import METRICS
from ..functional.delta_m import DEFAULT_TASK_METRICS, delta_m


@METRICS.register_module()
class MultiTaskDeltaMetric(BaseMetric):
    """Wraps the task metrics of a multi-task run and adds Δm.

    Every wrapped metric processes the batches and evaluates as it would
    alone (same keys, same DDP gathering); Δm is then computed from their
    results with :func:`mmmae.evaluation.delta_m`.

    Args:
        metrics (Sequence[dict]): Configs of the task metrics, e.g.
            ``dict(type='mmseg.IoUMetric')``, ``dict(type='NormalsMetric')``.
        baselines (Mapping[str, Mapping[str, float]]): Per task, the metric
            values of its single-task baseline, under the keys the wrapped
            metrics log, e.g. ``dict(semseg={'mIoU': 45.1},
            normals={'normals/mean': 20.3})``. The tasks named here are the
            T tasks of Δm.
        task_metrics (Mapping[str, Sequence], optional): Per task,
            ``(key, lower_is_better)`` pairs. Defaults to
            :data:`~mmmae.evaluation.DEFAULT_TASK_METRICS` for the tasks of
            ``baselines``.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for the wrapped
            metrics that do not set it.

    Metrics: every wrapped metric's keys, ``delta_m`` and ``delta_m/{task}``
    (percent).
    """

    def __init__(self,
                 metrics: Sequence[dict],
                 baselines: Mapping[str, Mapping[str, float]],
                 task_metrics: Optional[Mapping[str, Sequence]] = None,
                 collect_device: str = 'cpu'):
        super().__init__(collect_device=collect_device, prefix='delta_m')
        if not metrics:
            raise ValueError('MultiTaskDeltaMetric: metrics is empty')
        if not baselines:
            raise ValueError('MultiTaskDeltaMetric: baselines is empty')
        self.metrics: List[BaseMetric] = []
        for cfg in metrics:
            cfg = dict(cfg)
            cfg.setdefault('collect_device', collect_device)
            self.metrics.append(METRICS.build(cfg))
        self.baselines = {t: dict(v) for t, v in baselines.items()}
        task_metrics = dict(task_metrics or {})
        self.task_metrics: Dict[str, list] = OrderedDict()
        for task in self.baselines:
            if task in task_metrics:
                specs = task_metrics[task]
            elif task in DEFAULT_TASK_METRICS:
                specs = DEFAULT_TASK_METRICS[task]
            else:
                raise KeyError(f'MultiTaskDeltaMetric: task {task!r} has no '
                               f'default metric; give task_metrics='
                               f'{{{task!r}: [(key, lower_is_better)]}}')
            self.task_metrics[task] = [(str(k), bool(lo)) for k, lo in specs]
            missing = [k for k, _ in self.task_metrics[task]
                       if k not in self.baselines[task]]
            if missing:
                raise KeyError(f'MultiTaskDeltaMetric: the baseline of '
                               f'{task!r} lacks {missing} (it has '
                               f'{sorted(self.baselines[task])})')

    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta
        for metric in self.metrics:
            metric.dataset_meta = dataset_meta

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for metric in self.metrics:
            metric.process(data_batch, data_samples)

    def compute_metrics(self, results: list) -> dict:
        # Never called: evaluate() delegates to the wrapped metrics.
        raise NotImplementedError

    def evaluate(self, size: int) -> dict:
        out = OrderedDict()
        for metric in self.metrics:
            for key, value in metric.evaluate(size).items():
                if key in out:
                    raise ValueError(f'MultiTaskDeltaMetric: two metrics '
                                     f'log {key!r}; give one a prefix')
                out[key] = value
        result = delta_m(out, self.baselines, self.task_metrics)
        out['delta_m'] = result['delta_m']
        for task, term in result['tasks'].items():
            out[f'delta_m/{task}'] = term['delta']
        return out
