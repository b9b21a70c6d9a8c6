"""MultiMAE masked reconstruction of an image, as the MultiMAE demo.

    python demo/reconstruction_demo.py IMAGE CONFIG CHECKPOINT \
        --out-dir outputs/ [--depth D.png] [--semseg S.png] \
        [--num-visible 98 | --mask-ratio 0.83 | --visible rgb=60 depth=38] \
        [--alpha 1.0] [--seed 0] [--device cpu]

IMAGE is an rgb image or a folder of them; depth and semseg inputs are
optional (their rows then show the masked input beside the
reconstruction; without them the model predicts them from rgb alone).
The masking draw is seeded (``--seed``). CONFIG is a MultiMAE pre-training
config. Built on :class:`mmmae.apis.MultiMAEReconstructionInferencer`.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmmae.apis import MultiMAEReconstructionInferencer  # noqa: E402


def _counts(pairs):
    if not pairs:
        return None
    counts = {}
    for pair in pairs:
        name, _, value = pair.partition('=')
        if not value.isdigit():
            raise SystemExit(f'--visible takes modality=count, got "{pair}"')
        counts[name] = int(value)
    return counts


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('image', help='rgb image file or folder')
    parser.add_argument('config', help='MultiMAE pre-training config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--depth', help='depth input (uint16 PNG, mm)')
    parser.add_argument('--semseg', help='semseg input (label PNG)')
    group = parser.add_mutually_exclusive_group()
    group.add_argument('--num-visible', type=int,
                       help='visible tokens in all (default: the model\'s)')
    group.add_argument('--mask-ratio', type=float,
                       help='share of the tokens hidden, in [0, 1)')
    group.add_argument('--visible', nargs='+', metavar='MODALITY=N',
                       help='visible tokens per modality, e.g. rgb=60')
    parser.add_argument('--alpha', type=float,
                        help='Dirichlet concentration (default: the '
                        'model\'s)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the masking draw')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    inferencer = MultiMAEReconstructionInferencer(
        args.config, args.checkpoint, device=args.device)
    inputs = dict(rgb=args.image)
    for name in ('depth', 'semseg'):
        if getattr(args, name):
            inputs[name] = getattr(args, name)
    out = inferencer(inputs if len(inputs) > 1 else args.image,
                     out_dir=args.out_dir, num_visible=args.num_visible,
                     mask_ratio=args.mask_ratio,
                     visible=_counts(args.visible), alpha=args.alpha,
                     seed=args.seed)
    print(f'inputs: {", ".join(inputs)}; {len(out["predictions"])} '
          f'picture(s) written to {args.out_dir}')
    return out


if __name__ == '__main__':
    try:
        main()
    except (KeyError, ValueError, TypeError, FileNotFoundError) as e:
        sys.exit(f'reconstruction_demo.py: {type(e).__name__}: {e}')
