"""Classify images within one task (domain) of a CLIP multi-task model.

    python demo/clip_demo.py IMAGES CONFIG CHECKPOINT --task Clipart \
        [--out-dir outputs/] [--topk 3] [--batch-size 8] [--device cpu]

IMAGES is an image or a folder. Prints the top classes of every image and,
with ``--out-dir``, writes the image with them drawn under it. An unknown
``--task`` fails listing the model's tasks. Built on
:class:`mmmae.apis.MultiTaskCLIPInferencer`.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmmae.apis import MultiTaskCLIPInferencer, UnknownTaskError  # noqa: E402,E501


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('images', help='image file or folder')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--task', help='the task (domain) whose classes '
                        'score the images; optional for one task')
    parser.add_argument('--out-dir', help='where to write the pictures')
    parser.add_argument('--topk', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    inferencer = MultiTaskCLIPInferencer(args.config, args.checkpoint,
                                         device=args.device)
    items = inferencer._inputs_to_list(args.images)
    out = inferencer(items, task=args.task, batch_size=args.batch_size,
                     out_dir=args.out_dir, topk=args.topk)
    for item, pred in zip(items, out['predictions']):
        top = ', '.join(f'{c} {s:.3f}' for c, s in pred['topk'][:args.topk])
        print(f'{item} [{pred["task"]}]: {top}')
    return out


if __name__ == '__main__':
    try:
        main()
    except (UnknownTaskError, ValueError, FileNotFoundError) as e:
        sys.exit(f'clip_demo.py: {type(e).__name__}: {e}')
