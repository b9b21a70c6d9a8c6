# Train a model: python tools/train.py CONFIG [--work-dir DIR] [--resume]
# Modelled on mmsegmentation's tools/train.py, with mmmae's registries, safe
# checkpoint loading, clear config errors and gloo on machines without CUDA.
import argparse
import logging
import os
import os.path as osp
import sys

import torch
from mmengine.config import DictAction
from mmengine.logging import print_log

# Run from a checkout without `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmmae.utils import (ConfigNotFoundError, CorruptCheckpointError,  # noqa: E402,E501
                         UnknownTypeError, UnsafeCheckpointError,
                         build_runner, explain_registry_errors, load_config,
                         register_all_modules, setup_cpu_distributed,
                         trust_checkpoint)
from mmmae.utils.config_errors import ConfigKeyError  # noqa: E402
from mmmae.utils.amp_dtype import AMP_DTYPES, set_amp_dtype  # noqa: E402
from mmmae.utils.atomic_io import DiskFullError  # noqa: E402
from mmmae.utils.compile_check import (make_compile_ready,  # noqa: E402
                                       resolve_compile)
from mmmae.utils.resume import find_resume_checkpoint  # noqa: E402

CLEAR_ERRORS = (ConfigNotFoundError, UnknownTypeError, UnsafeCheckpointError,
                CorruptCheckpointError, DiskFullError, ConfigKeyError)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train an mmmae model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint; without a path, resume from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training (needs a GPU)')
    parser.add_argument(
        '--amp-dtype',
        choices=AMP_DTYPES,
        help='autocast dtype of AMP training (default: fp16); needs --amp '
        'or an AmpOptimWrapper config')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr linearly from the config\'s '
        'auto_scale_lr.base_batch_size to the real total batch '
        '(GPUs x batch per GPU), as mmengine\'s Runner does')
    parser.add_argument(
        '--trust-checkpoint',
        action='store_true',
        help='the checkpoint given by --resume PATH or load_from is trusted: '
        'load it without the weights_only allowlist (it may run code)')
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
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg, args):
    """Fold the command line into the config (CLI > config > defaults)."""
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        if not torch.cuda.is_available():
            raise SystemExit('--amp needs a CUDA device: mmengine\'s '
                             'AmpOptimWrapper does not run on the CPU')
        wrapper_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper_type == 'AmpOptimWrapper':
            print_log(
                'AMP training is already enabled in your config.',
                logger='current',
                level=logging.WARNING)
        elif wrapper_type != 'OptimWrapper':
            raise SystemExit('--amp works only with optim_wrapper.type='
                             f'OptimWrapper, but the config has '
                             f'{wrapper_type}')
        else:
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.amp_dtype:
        try:
            set_amp_dtype(cfg, args.amp_dtype)
        except ValueError as e:
            raise SystemExit(f'--amp-dtype: {e}')

    if args.auto_scale_lr:
        scale = cfg.get('auto_scale_lr')
        if not isinstance(scale, dict) or 'base_batch_size' not in scale:
            raise SystemExit(
                f'--auto-scale-lr: {args.config} has no auto_scale_lr = '
                'dict(base_batch_size=N), the total batch its lr was set '
                'for; add it to the config')
        cfg.auto_scale_lr.enable = True

    if args.resume == 'auto':
        # The newest complete checkpoint, even when last_checkpoint is
        # empty or names a truncated or deleted file; none: from scratch.
        found = find_resume_checkpoint(cfg.work_dir)
        cfg.resume = found is not None
        if found is not None:
            cfg.load_from = found
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise SystemExit(f'--resume: checkpoint file not found: '
                             f'{args.resume}')
        cfg.resume = True
        cfg.load_from = args.resume
    if args.trust_checkpoint and cfg.get('load_from'):
        trust_checkpoint(cfg.load_from)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    # The config first: a wrong path fails before the slow imports.
    cfg = load_config(args.config, args.cfg_options)
    register_all_modules()
    cfg = merge_args(cfg, args)
    # cfg.compile that cannot work here: warn and train eagerly.
    resolve_compile(cfg)
    setup_cpu_distributed(cfg, args.launcher)

    runner = build_runner(cfg)
    if cfg.get('compile', None):
        make_compile_ready(runner)
    # Dataloaders and their datasets are built lazily, inside train().
    with explain_registry_errors(cfg):
        runner.train()


if __name__ == '__main__':
    try:
        main()
    except CLEAR_ERRORS as e:
        sys.exit(f'{type(e).__name__}: {e}')
