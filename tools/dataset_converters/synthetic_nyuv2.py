"""Write the embedded synthetic NYUv2-format dataset.

Example:
    python tools/dataset_converters/synthetic_nyuv2.py --out data/nyuv2_synth

Deterministic from ``--seed``; a second call with the same arguments does
nothing. See docs/tutorials/prepare_nyuv2.md.
"""
import argparse
import os.path as osp
import sys
import time

# Runnable from a checkout without installing the package.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmmae.datasets.synthetic_nyuv2 import generate_synthetic_nyuv2  # noqa


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Generate a synthetic dataset in the NYUv2 layout')
    parser.add_argument('--out', default='data/nyuv2_synth',
                        help='output folder (default: data/nyuv2_synth)')
    parser.add_argument('--num-train', type=int, default=200)
    parser.add_argument('--num-test', type=int, default=50)
    parser.add_argument('--size', type=int, nargs=2, default=[96, 128],
                        metavar=('H', 'W'), help='image size (default 96 128)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing output folder')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    manifest = generate_synthetic_nyuv2(
        args.out, args.num_train, args.num_test, tuple(args.size), args.seed,
        overwrite=args.overwrite, progress=True)
    if manifest is None:
        print(f'{args.out} is already complete with these arguments; '
              'nothing to do.')
    else:
        print(f'\nwrote {manifest["counts"]} samples of size '
              f'{tuple(args.size)} to {args.out} in '
              f'{time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
