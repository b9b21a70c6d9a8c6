"""Save a model exactly as a training run of CONFIG starts (same seed, after
``init_weights``) as a checkpoint, so that ``tools/test.py`` can score the
untrained baseline that a trained checkpoint is compared with.

    python tools/analysis_tools/save_init_checkpoint.py CONFIG OUT.pth
    python tools/test.py CONFIG OUT.pth
"""
import argparse
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import set_random_seed

from mmmae.registry import MODELS
from mmmae.utils import register_all_modules
from mmmae.utils.atomic_io import atomic_torch_save


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='the config file')
    parser.add_argument('out', help='where to write the checkpoint')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, key=value')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    # The same order as mmengine's Runner: seed, build, then init_weights at
    # the start of train(); nothing between them draws random numbers.
    randomness = cfg.get('randomness') or {}
    if randomness.get('seed') is None:
        raise SystemExit(
            f'{args.config}: no randomness.seed, so a training run starts '
            'from a random model; set one (--cfg-options randomness.seed=0)')
    set_random_seed(randomness['seed'],
                    deterministic=randomness.get('deterministic', False),
                    diff_rank_seed=False)
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_torch_save(dict(state_dict=state, meta=dict(config=args.config)),
                      args.out)
    print(f'saved the untrained model of {osp.basename(args.config)} '
          f'to {args.out}')


if __name__ == '__main__':
    main()
