"""Pixel confusion matrix of a segmentation task from saved predictions.

    python tools/test.py CONFIG CHECKPOINT --out work_dirs/preds
    python tools/analysis_tools/confusion_matrix.py CONFIG work_dirs/preds \
        work_dirs/confusion [--task semseg|parts] [--save-npy] [--show] \
        [--color-theme winter] [--title TITLE] [--cfg-options KEY=VALUE ...]

mmseg's ``confusion_matrix.py`` for mmmae's multi-task models. The
predictions are the label PNGs that ``tools/test.py --out`` writes through
the task's IoU metric (``<out>/<image name>.png``, or
``<out>/<metric type in lower case>/`` when the config has several test
metrics; this tool finds the task's folder). The ground truth is the
config's test dataset after its pipeline, so it is the map the metric
compared with. Rows are ground-truth classes, columns predicted classes;
pixels whose ground truth is the ignore index are left out
(``mmmae.evaluation.functional.confusion_counts``). The picture shows each
row in percent of its ground-truth pixels; ``--save-npy`` also writes the
raw counts.
"""
import argparse
import io
import os
import os.path as osp
import sys

import numpy as np
from mmengine.config import DictAction

# Run from a checkout without `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmmae.utils import ConfigNotFoundError, load_config  # noqa: E402
from mmmae.utils.config_errors import ConfigKeyError  # noqa: E402

# Label-map tasks: the ground-truth field, the metainfo key of the class
# names, and the prediction field the IoU metrics read.
TASKS = dict(
    semseg=('gt_sem_seg', 'classes', 'pred_sem_seg'),
    parts=('gt_parts', 'parts_classes', 'pred_parts'),
)
# pred_key of the IoU metrics that save predictions, by registered name.
DEFAULT_PRED_KEYS = dict(IoUMetric='pred_sem_seg',
                         TaskIoUMetric='pred_sem_seg',
                         HumanPartsIoUMetric='pred_parts')


class ConfusionMatrixError(ValueError):
    """Bad input to the tool; the message names the culprit."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate the confusion matrix of a segmentation task '
        'from saved predictions')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'prediction_path',
        help='the --out folder of tools/test.py (or the task\'s metric '
        'sub-folder in it)')
    parser.add_argument('save_dir',
                        help='folder where the confusion matrix is saved')
    parser.add_argument('--task', default='semseg', choices=sorted(TASKS),
                        help='the segmentation task (default semseg)')
    parser.add_argument('--save-npy', action='store_true',
                        help='also save the raw (K, K) pixel counts')
    parser.add_argument('--show', action='store_true',
                        help='show the confusion matrix')
    parser.add_argument('--color-theme', default='winter',
                        help='matplotlib colour map of the picture')
    parser.add_argument('--title', default='Normalized Confusion Matrix',
                        help='title of the picture')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file, e.g. '
        'test_dataloader.dataset.data_root=data/nyuv2_synth')
    return parser.parse_args(argv)


def _metrics(cfg) -> list:
    evaluator = cfg.get('test_evaluator') or []
    return list(evaluator) if isinstance(evaluator, (list, tuple)) else [
        evaluator
    ]


def task_metrics(cfg, task: str):
    """[(sub-folder, metric cfg)] of the test metrics that save ``task``'s
    predictions. The sub-folder follows ``tools/test.py``'s
    ``set_output_dir``: '' for a single metric, else the type in lower
    case."""
    metrics = _metrics(cfg)
    found = []
    for metric in metrics:
        kind = str(metric.get('type', '')).split('.')[-1]
        pred_key = metric.get('pred_key', DEFAULT_PRED_KEYS.get(kind))
        if pred_key == TASKS[task][2]:
            found.append(('' if len(metrics) == 1 else kind.lower(), metric))
    return found


def _pngs(folder: str) -> list:
    return sorted(f for f in os.listdir(folder)
                  if f.endswith('.png') and not f.startswith('.'))


def prediction_dir(path: str, cfg, task: str, config: str):
    """The folder of ``task``'s prediction PNGs and its metric config."""
    if not osp.isdir(path):
        raise ConfusionMatrixError(
            f'prediction folder "{path}" does not exist; write it with '
            f'python tools/test.py {config} CHECKPOINT --out {path}')
    metrics = task_metrics(cfg, task)
    if not metrics:
        raise ConfusionMatrixError(
            f'task "{task}": no test metric of {config} reads '
            f'{TASKS[task][2]}, so tools/test.py --out saves no {task} '
            f'predictions; test metrics: '
            f'{[m.get("type") for m in _metrics(cfg)]}')
    for sub, metric in metrics:
        folder = osp.join(path, sub) if sub else path
        if osp.isdir(folder) and _pngs(folder):
            return folder, metric
    if _pngs(path):  # the user named the metric's folder itself
        return path, metrics[0][1]
    subs = sorted(d for d in os.listdir(path)
                  if osp.isdir(osp.join(path, d)))
    raise ConfusionMatrixError(
        f'no {task} predictions in "{path}": expected PNGs in '
        f'{[osp.join(path, s) for s, _ in metrics]}; it holds the '
        f'sub-folders {subs} (one per test metric of tools/test.py --out)')


def dataset_tasks(dataset) -> tuple:
    tasks = dataset.metainfo.get('tasks')
    return ('semseg', ) if tasks is None else tuple(tasks)


def read_prediction(path: str) -> np.ndarray:
    import cv2
    pred = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if pred is None:
        raise ConfusionMatrixError(f'cannot read the prediction {path}')
    if pred.ndim != 2:
        raise ConfusionMatrixError(
            f'prediction {path} has shape {pred.shape}: expected a '
            'single-channel label map (tools/test.py --out writes one)')
    return pred.astype(np.int64)


def count(dataset, pred_dir: str, task: str, num_classes: int,
          ignore_index: int, saved_plus_one: bool = False) -> np.ndarray:
    """Sum of the per-image counts over the dataset. ``saved_plus_one``:
    the files hold label + 1 for samples with ``reduce_zero_label`` (what
    mmseg's IoUMetric writes)."""
    from mmengine.utils import ProgressBar

    from mmmae.evaluation.functional import confusion_counts
    gt_field = TASKS[task][0]
    counts = np.zeros((num_classes, num_classes), np.int64)
    progress = ProgressBar(len(dataset))
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        img_path = sample.metainfo.get('img_path', f'sample {index}')
        if gt_field not in sample:
            raise ConfusionMatrixError(
                f'sample {img_path} of the test dataset has no {gt_field} '
                f'(task "{task}"); its pipeline must load that ground truth')
        stem = osp.splitext(osp.basename(img_path))[0]
        path = osp.join(pred_dir, f'{stem}.png')
        if not osp.isfile(path):
            raise ConfusionMatrixError(
                f'no prediction {path} for test sample {img_path}: was '
                'tools/test.py --out run with this config and dataset?')
        pred = read_prediction(path)
        if saved_plus_one and sample.metainfo.get('reduce_zero_label'):
            pred = pred - 1
        counts += confusion_counts(
            sample.get(gt_field).data.squeeze(0), pred, num_classes,
            ignore_index, name=f'{path} (ground truth of {img_path})')
        progress.update()
    return counts


def plot(counts: np.ndarray, classes, title: str, color_theme: str,
         show: bool = False):
    """The row-normalised matrix as a matplotlib figure."""
    import matplotlib
    if not show and 'matplotlib.pyplot' not in sys.modules:
        matplotlib.use('Agg')  # no display needed to write the file
    import matplotlib.pyplot as plt

    from mmmae.evaluation.functional import normalize_confusion
    percent = normalize_confusion(counts)
    k = len(classes)
    side = max(6., 0.45 * k + 2)
    fig, ax = plt.subplots(figsize=(side * 1.15, side), dpi=100)
    # Grey rows: classes absent from the ground truth.
    cmap = plt.get_cmap(color_theme).with_extremes(bad='lightgrey')
    image = ax.imshow(np.ma.masked_invalid(percent), cmap=cmap, vmin=0,
                      vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04,
                 label='% of the ground-truth pixels')
    ax.set_title(title)
    ax.set_xlabel('Prediction label')
    ax.set_ylabel('Ground truth label')
    ax.set_xticks(np.arange(k), labels=classes, rotation=45, ha='right',
                  rotation_mode='anchor')
    ax.set_yticks(np.arange(k), labels=classes)
    # Only the non-zero cells get a number: a 40-class matrix stays
    # readable (and fast to draw); empty cells and grey rows are blank.
    fontsize = max(4., min(9., 180. / k))
    for i, j in zip(*np.nonzero(np.nan_to_num(percent) > 0)):
        value = percent[i, j]
        ax.text(j, i, f'{value:.1f}' if value < 99.95 else '100',
                ha='center', va='center', fontsize=fontsize,
                color='w' if value < 50 else 'k')
    fig.tight_layout()
    return fig


def main(argv=None):
    """Returns ``dict(counts=(K, K) ndarray, png=path, npy=path or None)``."""
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    from mmmae.registry import DATASETS
    from mmmae.utils import register_all_modules
    from mmmae.utils.atomic_io import atomic_open, atomic_write_bytes
    register_all_modules()

    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    tasks = dataset_tasks(dataset)
    if args.task not in tasks:
        raise ConfusionMatrixError(
            f'task "{args.task}" is not a task of the test dataset '
            f'({type(dataset).__name__}) of {args.config}, which has '
            f'{list(tasks)}')
    pred_dir, metric = prediction_dir(args.prediction_path, cfg, args.task,
                                      args.config)
    classes = metric.get('classes') or dataset.metainfo.get(
        TASKS[args.task][1])
    if not classes:
        raise ConfusionMatrixError(
            f'no class names for task "{args.task}": the test dataset of '
            f'{args.config} has no metainfo "{TASKS[args.task][1]}"')
    classes = [str(c) for c in classes]
    counts = count(dataset, pred_dir, args.task, len(classes),
                   int(metric.get('ignore_index', 255)),
                   saved_plus_one=str(metric.get('type')).split('.')[-1] ==
                   'IoUMetric')

    os.makedirs(args.save_dir, exist_ok=True)
    stem = osp.join(args.save_dir, f'confusion_matrix_{args.task}')
    fig = plot(counts, classes, args.title, args.color_theme, args.show)
    buf = io.BytesIO()
    fig.savefig(buf, format='png')
    atomic_write_bytes(f'{stem}.png', buf.getvalue())
    npy = None
    if args.save_npy:
        npy = f'{stem}.npy'
        with atomic_open(npy, 'wb') as f:
            np.save(f, counts)
    total = int(counts.sum())
    acc = 100. * np.trace(counts) / max(total, 1)
    print(f'\n{args.task}: {len(dataset)} images, {total} pixels counted '
          f'(ignore index left out), pixel accuracy {acc:.2f}%; predictions '
          f'from {pred_dir}')
    print(f'wrote {stem}.png' + (f' and {npy}' if npy else ''))
    if args.show:
        import matplotlib.pyplot as plt
        plt.show()
    return dict(counts=counts, png=f'{stem}.png', npy=npy)


if __name__ == '__main__':
    try:
        main()
    except (ConfusionMatrixError, ConfigNotFoundError, ConfigKeyError,
            ValueError) as e:
        sys.exit(f'{type(e).__name__}: {e}')
