"""Write infrared-like float32 TIFFs beside a synthetic NYUv2 set.

Example (from the repository root)::

    python tools/dataset_converters/synthetic_nyuv2.py --out data/nyuv2_synth
    python projects/custom_modality/tools/make_infrared.py \
        --data-root data/nyuv2_synth --stats

writes ``data/nyuv2_synth/{train,test}/ir/<name>.tiff`` (see
``custom_modality/infrared.py``) and, with ``--stats``, prints the mean and
standard deviation of each split (the ``infrared`` kind normalises with the
train split's).
"""
import argparse
import os.path as osp
import sys

# Runnable from a checkout: the repository root holds mmmae and projects/.
sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..',
                                        '..')))

from projects.custom_modality.custom_modality import write_infrared  # noqa


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default='data/nyuv2_synth')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'])
    parser.add_argument('--overwrite', action='store_true',
                        help='rewrite existing TIFFs')
    parser.add_argument('--stats', action='store_true',
                        help='print mean and std of each split')
    args = parser.parse_args(argv)
    for split in args.splits:
        info = write_infrared(args.data_root, split, args.overwrite)
        line = (f'{split}: {info["written"]} of {info["count"]} infrared '
                f'images written to {osp.join(args.data_root, split, "ir")}')
        if args.stats:
            line += f' (mean {info["mean"]:.4f}, std {info["std"]:.4f})'
        print(line)


if __name__ == '__main__':
    main()
