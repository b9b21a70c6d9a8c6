"""Step time of the fast-path switches against the plain path, on this
machine (docs/performance.md, "Activation checkpointing and fast paths").

    python tools/analysis_tools/fast_path_speed.py heads [--reps 3]
    python tools/analysis_tools/fast_path_speed.py adamw CONFIG [--reps 3]

``heads``: forward + backward of the ViT-B NYUv2 heads alone (ConvNeXt
semseg head, DPT depth head) on 40 x 40 token maps (640 x 640 input), with
``channels_last`` off and on. ``adamw``: one ``optimizer.step()`` over the
config's trainable parameters (random gradients) with torch's per-tensor
loop, ``foreach=True`` and ``fused=True``. Variants alternate within each
repetition (the first is warm-up) and the median counts, so a change in
the machine's load hits all of them alike.
"""
import argparse
import os.path as osp
import statistics
import sys
import time

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

HEADS = {
    'ConvNeXtHead': dict(type='ConvNeXtHead', in_channels=768, channels=384,
                         preds_per_patch=16, num_blocks=4, num_classes=40),
    'MultiMAEDPTHead': dict(type='MultiMAEDPTHead', embed_dims=768,
                            in_index=(0, 1, 2, 3)),
}


def interleaved(fns: dict, reps: int) -> dict:
    """Median seconds of each ``fns`` value, alternating, after a warm-up."""
    times = {k: [] for k in fns}
    for r in range(reps + 1):
        for k, fn in fns.items():
            start = time.perf_counter()
            fn()
            if r:
                times[k].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def heads(reps: int) -> None:
    from mmmae.registry import MODELS
    for name, cfg in HEADS.items():
        feats = tuple(torch.randn(1, 768, 40, 40, requires_grad=True)
                      for _ in range(4))
        fns = {}
        for cl in (False, True):
            torch.manual_seed(0)
            head = MODELS.build(dict(cfg, channels_last=cl)).train()
            fns[cl] = (lambda h: lambda: h(feats).mean().backward())(head)
        t = interleaved(fns, reps)
        print(f'{name}: channels_last off {t[False]:.3f} s, on '
              f'{t[True]:.3f} s, ratio {t[True] / t[False]:.3f}')


def adamw(config: str, reps: int) -> None:
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    from mmmae.registry import MODELS
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    for p in model.parameters():
        if p.requires_grad:
            p.grad = torch.randn_like(p) * 1e-3
    fns = {}
    for impl in ('plain', 'foreach', 'fused'):
        optim = cfg.optim_wrapper.copy()
        optim.pop('type', None)
        optim.pop('loss_scale', None)
        optim.pop('dtype', None)
        optim['optimizer'] = dict(optim['optimizer'],
                                  foreach=impl == 'foreach')
        if impl == 'fused':
            optim['optimizer']['fused'] = True
        wrapper = build_optim_wrapper(model, optim)
        fns[impl] = wrapper.optimizer.step
    n = sum(p.numel() for p in model.parameters() if p.requires_grad)
    t = interleaved(fns, reps)
    print(f'AdamW step over {n / 1e6:.1f} M trainable values: ' + ', '.join(
        f'{k} {v:.3f} s ({v / t["plain"]:.2f}x)' for k, v in t.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='what', required=True)
    h = sub.add_parser('heads')
    h.add_argument('--reps', type=int, default=3)
    a = sub.add_parser('adamw')
    a.add_argument('config')
    a.add_argument('--reps', type=int, default=3)
    args = parser.parse_args(argv)
    from mmmae.utils import register_all_modules
    register_all_modules()
    if args.what == 'heads':
        heads(args.reps)
    else:
        adamw(args.config, args.reps)


if __name__ == '__main__':
    main()
