# Test (and evaluate) a checkpoint: python tools/test.py CONFIG CHECKPOINT
# Modelled on mmsegmentation's tools/test.py. The checkpoint is loaded by
# mmmae's safe loader (weights_only=True with an allowlist); pass
# --trust-checkpoint for a trusted file that needs more.
import argparse
import contextlib
import os
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.dist import is_main_process

# Run from a checkout without `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmmae.utils import (ConfigNotFoundError, CorruptCheckpointError,  # noqa: E402,E501
                         UnknownTypeError, UnsafeCheckpointError,
                         build_runner, explain_registry_errors, load_config,
                         register_all_modules, setup_cpu_distributed,
                         trust_checkpoint)
from mmmae.utils.config_errors import ConfigKeyError  # noqa: E402
from mmmae.utils.atomic_io import DiskFullError, staged_dir  # noqa: E402
from mmmae.utils.output_guard import (OutputOverwritesInputError,  # noqa: E402,E501
                                      check_out_dir_outside, data_roots)
from mmmae.utils.delta_checkpoint import (MissingBaseCheckpointError,  # noqa: E402,E501
                                          WrongBaseCheckpointError,
                                          add_delta_loading)
from mmmae.utils.model_identity import (WrongModelCheckpointError,  # noqa: E402,E501
                                        add_model_check)
from mmmae.apis.modalities import (ModalitySubsetError,  # noqa: E402,E501
                                   UnknownModalityError, describe_modalities,
                                   restrict_input_modalities,
                                   set_dataset_modalities)

CLEAR_ERRORS = (ConfigNotFoundError, UnknownTypeError, UnsafeCheckpointError,
                CorruptCheckpointError, MissingBaseCheckpointError,
                WrongBaseCheckpointError, WrongModelCheckpointError,
                OutputOverwritesInputError, DiskFullError, ConfigKeyError,
                UnknownModalityError, ModalitySubsetError)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='mmmae: test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='the directory for logs and the metric results (json)')
    parser.add_argument(
        '--out',
        type=str,
        help='directory to save the predictions for offline evaluation '
        '(one sub-directory per metric when there are several)')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--base-checkpoint',
        nargs='+',
        help='for a trainable-only (delta) checkpoint of a prompt run: the '
        'base checkpoint(s) to load under it, instead of the path(s) it '
        'recorded; the frozen weights are checked against its fingerprint')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='CHECKPOINT is trusted: load it without the weights_only '
        'allowlist (unpickling may run code)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file. If the value to '
        'be overwritten is a list, it should be like key="[a,b]" or key=a,b '
        'It also allows nested list/tuple values, e.g. key="[(a,b),(c,d)]" '
        'Note that the quotation marks are necessary and that no white space '
        'is allowed.')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument(
        '--modalities',
        nargs='+',
        help='input modalities to test with, a subset of those the model '
        'has adapters for (e.g. --modalities rgb for an RGB-D model); see '
        'docs/inference.md')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg, args):
    """Turn on drawing in the visualization hook of default_hooks."""
    hooks = cfg.get('default_hooks') or {}
    if 'visualization' not in hooks or hooks['visualization'] is None:
        raise SystemExit(
            '--show/--show-dir need default_hooks.visualization in the '
            "config, e.g. dict(type='MultiTaskVisualizationHook')")
    hook = hooks['visualization']
    hook['draw'] = True
    if args.show:
        hook['show'] = True
        hook['wait_time'] = args.wait_time
    if args.show_dir:
        hook['show_dir'] = args.show_dir
    return cfg


def set_output_dir(cfg, out):
    """Point every test metric's ``output_dir`` at ``out``; several metrics
    (IoUMetric and DepthMetric write files of the same names) each get a
    sub-directory named after their type."""
    evaluator = cfg.test_evaluator
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [
        evaluator
    ]
    for metric in metrics:
        sub = str(metric.get('type', 'metric')).split('.')[-1].lower()
        metric['output_dir'] = out if len(metrics) == 1 else osp.join(
            out, sub)
    return cfg


def format_metrics(metrics: dict) -> str:
    """A two-column table of the metrics ``runner.test()`` returns."""
    width = max([len(k) for k in metrics] + [6])
    lines = [f'{"metric":<{width}} | value', f'{"-" * width}-+-------']
    for key, value in metrics.items():
        shown = f'{value:.4f}' if isinstance(value, float) else str(value)
        lines.append(f'{key:<{width}} | {shown}')
    return '\n'.join(lines)


def merge_args(cfg, args):
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint file not found: {args.checkpoint}')
    if args.trust_checkpoint:
        trust_checkpoint(args.checkpoint)
    cfg.load_from = args.checkpoint
    # Delta checkpoints (DeltaCheckpointHook) load their base first.
    base = args.base_checkpoint
    add_delta_loading(cfg, base[0] if base and len(base) == 1 else base)
    # A checkpoint of another model (CLIP for MultiMAE, full fine-tuning
    # for a prompt config) fails naming both models.
    add_model_check(cfg)

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        if cfg.get('tta_model') is None or cfg.get('tta_pipeline') is None:
            raise SystemExit('--tta needs tta_model and tta_pipeline in the '
                             f'config {args.config}')
        # mmseg's wiring: the views come from tta_pipeline and the wrapper
        # (MultiTaskTTAModel, docs/transfer.md) merges the module's restored
        # predictions. A top-level data_preprocessor (our dataset bases')
        # belongs to the module, which normalises each view.
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        if cfg.get('data_preprocessor') is not None:
            cfg.model.setdefault('data_preprocessor',
                                 cfg.pop('data_preprocessor'))
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        cfg = set_output_dir(cfg, args.out)
    # Predictions and pictures are named after the input files.
    for root in data_roots(cfg.get('test_dataloader', {}).get('dataset')):
        for option, folder in (('--out', args.out),
                               ('--show-dir', args.show_dir)):
            if folder is not None:
                check_out_dir_outside(folder, root, option)
    return cfg


def use_modalities(runner, modalities):
    """--modalities: the built model reads only these inputs; the test
    dataset loads only these. Logs and prints which were used."""
    model = runner.model
    while hasattr(model, 'module'):  # DDP and TTA wrappers
        model = model.module
    report = restrict_input_modalities(model, modalities)
    dataset = runner.cfg.test_dataloader.get('dataset')
    set_dataset_modalities(dataset, report['used'])
    if isinstance(runner._test_dataloader, dict):  # not built yet
        set_dataset_modalities(runner._test_dataloader.get('dataset'),
                               report['used'])
    message = describe_modalities(report)
    runner.logger.info(message)
    if is_main_process():
        print(message, flush=True)


def main(argv=None):
    args = parse_args(argv)
    # The config first: a wrong path fails before the slow imports.
    cfg = load_config(args.config, args.cfg_options)
    register_all_modules()
    cfg = merge_args(cfg, args)
    setup_cpu_distributed(cfg, args.launcher)

    # --out: the metrics write into a staging folder whose files are moved
    # into args.out once the test is complete, so a kill never leaves a
    # truncated prediction there.
    with staged_dir(args.out) if args.out else contextlib.nullcontext() \
            as staging:
        if staging is not None:
            cfg = set_output_dir(cfg, staging)
        runner = build_runner(cfg)
        if args.modalities:
            use_modalities(runner, args.modalities)
        with explain_registry_errors(cfg):
            metrics = runner.test()
    if is_main_process():
        print(format_metrics(metrics), flush=True)


if __name__ == '__main__':
    try:
        main()
    except CLEAR_ERRORS as e:
        sys.exit(f'{type(e).__name__}: {e}')
