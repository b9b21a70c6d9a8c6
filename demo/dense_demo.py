"""Dense multi-task predictions (depth, labels, normals, ...) of images.

    python demo/dense_demo.py IMAGES CONFIG CHECKPOINT --out-dir outputs/ \
        [--depth DEPTH] [--modalities rgb depth] [--batch-size 4] \
        [--depth-format png|npy] [--device cpu] [--show]

IMAGES is an rgb image or a folder of them; ``--depth`` the depth input
(uint16 PNG, millimetres) or a folder of them, paired by file name. For an
RGB-D model, ``--modalities rgb`` (or ``depth``) runs it on one input only.
Built on :class:`mmmae.apis.MultiTaskDenseInferencer`; see
docs/inference.md for the files written: a titled picture per input
(depth with a colour bar in metres, label maps with a legend), the raw
predictions, and a viewable ``*_vis.png`` twin of every raw depth and label
map.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmmae.apis import MultiTaskDenseInferencer  # noqa: E402
from mmmae.apis.modalities import describe_modalities  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('images', help='rgb image file or folder')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--depth', help='depth input file or folder')
    parser.add_argument('--modalities', nargs='+',
                        help='inputs to use (default: the model\'s)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--depth-format', choices=['png', 'npy'],
                        default='png', help='predicted depth as uint16 mm '
                        'PNG or float metres NPY')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--show', action='store_true',
                        help='show the pictures in a window')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    inferencer = MultiTaskDenseInferencer(args.config, args.checkpoint,
                                          device=args.device,
                                          modalities=args.modalities)
    inputs = args.images if args.depth is None else dict(
        rgb=args.images, depth=args.depth)
    if isinstance(inputs, dict) and osp.isdir(args.images) != osp.isdir(
            args.depth):
        raise SystemExit('dense_demo.py: IMAGES and --depth must both be '
                         'files or both be folders')
    if inferencer.modalities_report is not None:
        print(describe_modalities(inferencer.modalities_report))
    else:
        print('input modalities used: '
              + ', '.join(inferencer.input_modalities))
    out = inferencer(inputs, batch_size=args.batch_size,
                     out_dir=args.out_dir, show=args.show,
                     depth_format=args.depth_format)
    print(f'{len(out["predictions"])} input(s); tasks '
          f'{", ".join(inferencer.tasks)}; wrote to {args.out_dir}')
    return out


if __name__ == '__main__':
    try:
        main()
    except (KeyError, ValueError, TypeError, FileNotFoundError) as e:
        sys.exit(f'dense_demo.py: {type(e).__name__}: {e}')
