"""Convert an official MultiMAE checkpoint (EPFL-VILAB/MultiMAE) to mmmae.

The official file keeps its weights under ``model``: ``global_tokens``,
``input_adapters.{rgb,depth,semseg}.*``, ``encoder.{i}.*`` and
``output_adapters.{task}.*``: the pre-training decoders of a pre-trained
checkpoint, or the fine-tuned heads of a ``run_finetuning_*.py`` checkpoint
(a DPT for depth, a ConvNeXt adapter for semseg). The output holds
``backbone.*`` (MultiViT), ``decoders.*`` (MultiMAE's decoders) and
``decode_heads.*`` (``MultiTaskSegmentor``'s MultiMAEDPTHead / ConvNeXtHead) under
``state_dict``. No key is dropped: a key without an mmmae place is an error
naming it (the only ones skipped are the reference DPT's never-called
``scratch.refinenet4.resConfUnit1.*``, which are listed).

    python tools/model_converters/multimae2mmmae.py \
        multimae-b_98_rgb+-depth-semseg_1600e.pth \
        checkpoints/multimae-b_pretrain_mmmae.pth \
        --config configs/multimae/multimae_vit-b_pretrain_8xb256-amp-1600e_in1k-224.py

Fine-tune from it with ``init_cfg=dict(type='Pretrained', checkpoint=OUT,
prefix='backbone.')`` on the backbone. A fine-tuned checkpoint converts the
same way and loads whole into the matching config (``tools/test.py CONFIG
OUT``); see docs/tutorials/convert_checkpoints.md.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmmae.models.pretrainers.checkpoint_convert import (  # noqa: E402
    convert_multimae, map_multimae_key, unused_multimae_keys,
    unwrap_state_dict)
from mmmae.utils.atomic_io import atomic_torch_save  # noqa: E402


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
    # Tensors and plain strings only: loads with weights_only=True. Written
    # atomically: an interrupted run leaves no truncated file at dst.
    atomic_torch_save(dict(state_dict=state_dict,
                           meta=dict(source=osp.basename(source),
                                     converter=converter)), dst)
    print(f'saved {len(state_dict)} tensors to {dst}')


def main(argv=None):
    args = parse_args(argv)
    from mmmae.utils.checkpoint import load_checkpoint_file
    checkpoint = load_checkpoint_file(args.src, 'cpu',
                                      trusted=args.trust_checkpoint)
    official = unwrap_state_dict(checkpoint)
    if all(map_multimae_key(k) is None for k in official):
        raise SystemExit(f'{args.src}: no key looks like an official '
                         f'MultiMAE key; first keys {list(official)[:6]}')
    try:
        converted = convert_multimae(official, not args.no_ignore_row)
    except ValueError as e:
        raise SystemExit(f'{args.src}: {e}') from e
    unused = unused_multimae_keys(official)
    if unused:
        print(f'skipped {len(unused)} keys the reference never uses (DPT '
              f'refinenet4 has no skip input): {unused}')
    if args.config:
        check_against_config(converted, args.config)
    save(converted, args.dst, args.src, 'multimae2mmmae')


if __name__ == '__main__':
    main()
