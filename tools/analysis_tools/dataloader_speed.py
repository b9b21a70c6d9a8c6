"""Samples/s of a config's dataloader with the config's own workers.

    python tools/analysis_tools/dataloader_speed.py CONFIG
        [--loader train_dataloader] [--batches 20] [--warmup 3]
        [--num-workers N] [--out result.json] [--cfg-options KEY=VALUE ...]

``benchmark.py --phases data`` measures the pipeline in one process against
its decode floor; this tool measures what the training loop gets: the
config's ``DataLoader`` (``num_workers``, ``batch_size``, sampler, collate)
built by mmengine's ``Runner.build_dataloader``, timed over ``--batches``
batches after ``--warmup`` (worker start-up falls in the warm-up). A missing
dataset folder is an error naming the config key
(``mmmae.utils.data_speed.check_dataset_root``).
"""
import argparse
import copy
import json
import os.path as osp
import sys
import time

from mmengine.config import DictAction

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmmae.utils.atomic_io import atomic_write_text  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--loader', default='train_dataloader',
                        choices=['train_dataloader', 'val_dataloader',
                                 'test_dataloader'])
    parser.add_argument('--batches', type=int, default=20,
                        help='timed batches')
    parser.add_argument('--warmup', type=int, default=3,
                        help='untimed batches first (worker start-up)')
    parser.add_argument('--num-workers', type=int, default=None,
                        help='override the config\'s num_workers')
    parser.add_argument('--out', help='also write the result as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def measure(cfg, loader: str = 'train_dataloader', batches: int = 20,
            warmup: int = 3, num_workers=None,
            config_name: str = 'the config') -> dict:
    """Time ``batches`` batches of ``cfg[loader]`` after ``warmup``.

    Returns:
        dict: loader, num_workers, batch_size, batches, samples,
        seconds, samples_per_s.
    """
    from mmengine.runner import Runner

    from mmmae.utils.data_speed import check_dataset_root
    check_dataset_root(cfg, loader, config_name)
    dl_cfg = copy.deepcopy(cfg[loader])
    if num_workers is not None:
        dl_cfg['num_workers'] = num_workers
    if not dl_cfg.get('num_workers'):
        dl_cfg['persistent_workers'] = False  # torch refuses it with 0
    dataloader = Runner.build_dataloader(dl_cfg, seed=0)

    def batches_forever():
        while True:  # a short epoch restarts (finite samplers)
            yield from dataloader

    it = batches_forever()
    for _ in range(warmup):
        next(it)
    samples = 0
    start = time.perf_counter()
    for _ in range(batches):
        batch = next(it)
        samples += len(batch['data_samples'])
    seconds = time.perf_counter() - start
    return dict(loader=loader, num_workers=dl_cfg.get('num_workers', 0),
                batch_size=dl_cfg.get('batch_size'), batches=batches,
                samples=samples, seconds=round(seconds, 3),
                samples_per_s=round(samples / seconds, 2))


def main(argv=None):
    from mmmae.utils import load_config, register_all_modules
    args = parse_args(argv)
    # mmmae's loader: a missing file or a key typo is explained.
    cfg = load_config(args.config, args.cfg_options)
    register_all_modules()
    result = dict(config=args.config, **measure(
        cfg, args.loader, args.batches, args.warmup, args.num_workers,
        args.config))
    print(f"{args.config} {result['loader']}: {result['samples_per_s']} "
          f"samples/s with {result['num_workers']} workers, batch "
          f"{result['batch_size']} ({result['samples']} samples in "
          f"{result['seconds']} s)")
    if args.out:
        atomic_write_text(args.out, json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main()
