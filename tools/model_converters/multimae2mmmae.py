"""Convert an official MultiMAE checkpoint (EPFL-VILAB/MultiMAE) to mmmae.

The official file keeps its weights under ``model``: ``global_tokens``,
``input_adapters.{rgb,depth,semseg}.*``, ``encoder.{i}.*`` and the
pre-training decoders ``output_adapters.{task}.*``. The output holds
``backbone.*`` (MultiViT) and ``decoders.*`` (MultiMAE's decoders) under
``state_dict``; keys without an mmmae place are listed and left out.

    python tools/model_converters/multimae2mmmae.py \
        multimae-b_98_rgb+-depth-semseg_1600e.pth \
        checkpoints/multimae-b_pretrain_mmmae.pth \
        --config configs/multimae/multimae_vit-b_pretrain_8xb256-amp-1600e_in1k-224.py

Fine-tune from it with ``init_cfg=dict(type='Pretrained', checkpoint=OUT,
prefix='backbone.')`` on the backbone.
"""
import argparse
import os
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmmae.models.pretrainers.checkpoint_convert import (  # noqa: E402
    convert_multimae, map_multimae_key, unwrap_state_dict)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official MultiMAE checkpoint')
    parser.add_argument('dst', help='output path')
    parser.add_argument(
        '--no-ignore-row', action='store_true',
        help='do not append the ignore row to the semseg class table '
        '(for tables that already have num_classes + 1 rows)')
    parser.add_argument(
        '--config', help='an mmmae config whose model must accept the '
        'converted weights; misfitting keys fail with their shapes')
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='unpickle SRC without the weights_only allowlist (only for '
        'files you trust: unpickling can run arbitrary code)')
    return parser.parse_args(argv)


def check_against_config(state_dict, config: str) -> None:
    """Build the config's model and check (shapes) and report (keys)."""
    from mmengine.config import Config

    from mmmae.models.pretrainers import check_state_dict_fits
    from mmmae.models.pretrainers.checkpoint_check import _to_model_names
    from mmmae.registry import MODELS
    from mmmae.utils import register_all_modules
    register_all_modules()
    model = MODELS.build(Config.fromfile(config).model)
    missing, unexpected = check_state_dict_fits(
        model, _to_model_names(model, state_dict))
    print(f'fits {type(model).__name__} of {config}: {len(missing)} missing '
          f'keys {missing[:10]}, {len(unexpected)} unexpected keys '
          f'{unexpected[:10]}')


def save(state_dict, dst: str, source: str, converter: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    # Tensors and plain strings only: loads with weights_only=True.
    torch.save(dict(state_dict=state_dict,
                    meta=dict(source=osp.basename(source),
                              converter=converter)), dst)
    print(f'saved {len(state_dict)} tensors to {dst}')


def main(argv=None):
    args = parse_args(argv)
    from mmmae.utils.checkpoint import load_checkpoint_file
    checkpoint = load_checkpoint_file(args.src, 'cpu',
                                      trusted=args.trust_checkpoint)
    official = unwrap_state_dict(checkpoint)
    dropped = [k for k in official if map_multimae_key(k) is None]
    if len(dropped) == len(official):
        raise SystemExit(f'{args.src}: no key looks like an official '
                         f'MultiMAE key; first keys {list(official)[:6]}')
    converted = convert_multimae(official, not args.no_ignore_row)
    if dropped:
        print(f'left out {len(dropped)} keys without an mmmae place: '
              f'{dropped[:20]}')
    if args.config:
        check_against_config(converted, args.config)
    save(converted, args.dst, args.src, 'multimae2mmmae')


if __name__ == '__main__':
    main()
