"""MACs and parameters of any mmmae model, per module, as mmseg's get_flops.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H [W]]
        [--max-depth 3] [--out flops.json] [--cfg-options KEY=VALUE ...]

Works for every model family: MultiTaskSegmentor (with prompts or PEFT),
the MultiMAE pre-trainer and the CLIP classifiers of configs/mmap/. The
model runs one ``mode='tensor'`` forward (as mmseg's tool does) on a fake
preprocessed batch of one image (``mmmae.utils.fake_batch``) at ``--shape``
(default: the train crop of the config, else the size the model was built
for):

* segmentors: backbone and every task head (raw head outputs);
* the pre-trainer: the masked encoder on the visible tokens and every
  decoder (the masking draws a fixed number of visible tokens, so the
  count does not depend on the draw);
* CLIP classifiers: image tower and the text tower for the batch's task.

Convention (OpenMMLab model zoos; mmengine's ``get_model_complexity_info``
reports these as "flops"): 1 MAC = one multiply-add. The total is also
given in FLOPs = 2 x MACs. Counted: matrix products (Linear, matmul, bmm,
einsum), convolutions (bias excluded) and attention (QK^T and AV of
scaled-dot-product attention, the fused kernels included; mmengine's
counter skips ``F.scaled_dot_product_attention``). Not counted:
normalisation, activations, element-wise ops, pooling, interpolation,
embedding look-ups (mmengine counts norms and upsampling; they are well
under 1% of a ViT's MACs).

The table lists modules to ``--max-depth`` (module paths; MACs include
submodules); a module whose shown children do not cover its MACs or
parameters gets an ``(own)`` row with the rest, so the rows without shown
children sum to the total.
"""
import argparse
import json
import os.path as osp
import sys

import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmmae.utils.atomic_io import atomic_write_text  # noqa: E402
from mmmae.utils.fake_batch import fake_batch, input_size_of  # noqa: E402
from mmmae.utils.flop_count import (COUNTED_OPS_NOTE,  # noqa: E402
                                    ModuleMACCounter)

SDPA = '_scaled_dot_product'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs='+', default=None,
                        help='input size H [W] (one value: square); '
                        'default: the train crop, else the model\'s size')
    parser.add_argument('--max-depth', type=int, default=3,
                        help='deepest module level in the table (root = 0)')
    parser.add_argument('--out', help='also write the table as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='key=value overrides of the config')
    args = parser.parse_args(argv)
    if args.shape is not None and len(args.shape) not in (1, 2):
        parser.error(f'--shape takes H or H W, got {args.shape}')
    return args


def get_flops(args) -> dict:
    """Count one forward; returns the table rows and the totals."""
    from mmengine.config import Config

    from mmmae.registry import MODELS
    from mmmae.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = MODELS.build(cfg.model)
    model.eval()
    size, size_from = input_size_of(cfg, model, args.shape)
    data = fake_batch(model, 1, size, torch.device('cpu'))
    with torch.no_grad(), ModuleMACCounter(model) as counter:
        model(**data, mode='tensor')
    rows = list(counter.rows(args.max_depth))
    attention = sum(v for k, v in counter.by_op.items() if SDPA in k)
    params = sum(p.numel() for p in model.parameters())
    return dict(
        config=args.config, model=type(model).__name__,
        input_size=list(size), input_size_from=size_from,
        inputs={k: list(v.shape) for k, v in data['inputs'].items()}
        if isinstance(data['inputs'], dict) else
        list(data['inputs'].shape),
        macs=counter.total, flops=2 * counter.total,
        attention_macs=attention, params=params,
        macs_by_op=dict(counter.by_op), rows=rows,
        note=COUNTED_OPS_NOTE)


def _fmt(value: float) -> str:
    for scale, unit in ((1e9, 'G'), (1e6, 'M'), (1e3, 'k')):
        if abs(value) >= scale:
            return f'{value / scale:.3f} {unit}'
    return f'{value:.0f}'


def table(result: dict) -> str:
    total = max(result['macs'], 1)
    width = max(len('  ' * r['depth'] + (r['name'] or result['model']))
                for r in result['rows'])
    lines = [f"{'module':<{width}}  {'params':>11}  {'MACs':>11}  "
             f"{'% MACs':>7}"]
    lines.append('-' * len(lines[0]))
    for r in result['rows']:
        name = '  ' * r['depth'] + (r['name'] or result['model'])
        lines.append(f"{name:<{width}}  {_fmt(r['params']):>11}  "
                     f"{_fmt(r['macs']):>11}  "
                     f"{100. * r['macs'] / total:6.2f}%")
    return '\n'.join(lines)


def report(result: dict) -> str:
    macs, flops = result['macs'], result['flops']
    return '\n'.join([
        f"{result['model']} from {result['config']}",
        f"input: {result['input_size']} (from the "
        f"{result['input_size_from']}) -> {result['inputs']}",
        table(result),
        '',
        f"Params:      {_fmt(result['params'])} "
        f"({result['params']:,})",
        f"MACs:        {_fmt(macs)}MACs ({macs:,}), of which attention "
        f"(SDPA) {_fmt(result['attention_macs'])}MACs",
        f"FLOPs:       {_fmt(flops)}FLOPs ({flops:,}) = 2 x MACs",
        f"Note: {result['note']} Per image (batch 1), one mode='tensor' "
        'forward; the CLIP text tower runs once per task in the batch.',
    ])


def main(argv=None):
    args = parse_args(argv)
    result = get_flops(args)
    print(report(result))
    if args.out:
        atomic_write_text(args.out, json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main()
