"""Convert a timm or MAE ViT checkpoint (e.g. ViT-B/16) to mmmae MultiViT.

``patch_embed.proj`` becomes the rgb adapter's projection, the learned
``pos_embed`` (1, 1 + h*w, D) the rgb adapter's (1, D, h, w) table (class
slot dropped; other grids are resized on load), ``cls_token`` the global
token and ``blocks.*`` the blocks. MultiViT has no final norm, so ``norm.*``
/ ``fc_norm.*`` are dropped and reported, as are classification heads and
MAE's decoder. The output holds ``backbone.*`` under ``state_dict``.

    python tools/model_converters/vit2mmmae.py mae_pretrain_vit_base.pth \
        checkpoints/mae-b_mmmae.pth
"""
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from multimae2mmmae import check_against_config, save  # noqa: E402

from mmmae.models.pretrainers.checkpoint_convert import (  # noqa: E402
    convert_vit, map_vit_key, unwrap_state_dict)


def parse_args(argv=None):
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='timm or MAE ViT checkpoint')
    parser.add_argument('dst', help='output path')
    parser.add_argument(
        '--config', help='an mmmae config whose model must accept the '
        'converted weights; misfitting keys fail with their shapes')
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='unpickle SRC without the weights_only allowlist (only for '
        'files you trust)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from mmmae.utils.checkpoint import load_checkpoint_file
    checkpoint = load_checkpoint_file(args.src, 'cpu',
                                      trusted=args.trust_checkpoint)
    vit = unwrap_state_dict(checkpoint)
    if 'patch_embed.proj.weight' not in vit:
        raise SystemExit(f'{args.src}: not a timm/MAE ViT checkpoint (no '
                         f'patch_embed.proj.weight); first keys '
                         f'{list(vit)[:6]}')
    dropped = [k for k in vit if map_vit_key(k) is None]
    converted = convert_vit(vit)
    if dropped:
        print(f'dropped {len(dropped)} keys MultiViT has no place for '
              f'(final norm, heads, MAE decoder): {dropped[:20]}')
    if args.config:
        check_against_config(converted, args.config)
    save(converted, args.dst, args.src, 'vit2mmmae')


if __name__ == '__main__':
    main()
