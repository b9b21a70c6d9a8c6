"""Regenerate the fixtures of this folder from the reference code.

Run OUTSIDE the repository, against a checkout of EPFL-VILAB/MultiMAE at
66910f5b5ba236f5e731883db85fe4f24ee01106 (its ``multimae`` package plus a
``utils/registry.py`` and an empty ``utils/__init__.py``), e.g.

    REF=/tmp/refmm OUT=/tmp/refmm/out python make_fixtures.py

then copy ``OUT/*.pt`` here. Needs torch and einops only. Not part of the
test suite.
"""
import os
import sys
sys.path.insert(0, os.environ.get('REF', '/tmp/refmm'))
OUT = os.environ.get('OUT', '/tmp/refmm/out')
import torch
from multimae import MultiViT, DPTOutputAdapter, ConvNeXtAdapter, PatchedInputAdapter

COMMIT = '66910f5b5ba236f5e731883db85fe4f24ee01106'
D, DEPTH, HEADS, IMG = 32, 4, 2, 64


def perturb(model, gen):
    """Non-zero biases and LayerNorm affines everywhere (the reference inits
    Linear biases to zero, which would hide a dropped bias)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('bias'):
                p.add_(torch.rand(p.shape, generator=gen) * 0.4 - 0.2)
            elif 'norm' in name and name.endswith('weight'):
                p.add_(torch.rand(p.shape, generator=gen) * 0.4 - 0.2)
            elif name == 'global_tokens':
                p.normal_(0, 0.5, generator=gen)


def adapters(mods):
    ch = dict(rgb=3, depth=1)
    return {m: PatchedInputAdapter(num_channels=ch[m], stride_level=1,
                                   patch_size_full=16, image_size=IMG)
            for m in mods}


def build(mods, out):
    return MultiViT(input_adapters=adapters(mods), output_adapters=out,
                    dim_tokens=D, depth=DEPTH, num_heads=HEADS,
                    mlp_ratio=4, qkv_bias=True).eval()


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    rgb = torch.randn(1, 3, IMG, IMG, generator=gen)
    depth = torch.randn(1, 1, IMG, IMG, generator=gen)
    out = {}
    # 1) rgb -> depth, DPT (the depth recipe's head), hooks on all 4 blocks
    m = build(['rgb'], dict(depth=DPTOutputAdapter(
        num_classes=1, stride_level=1, patch_size=16, main_tasks=('rgb',),
        hooks=[0, 1, 2, 3], layer_dims=[8, 16, 16, 32], feature_dim=16,
        head_type='regression')))
    perturb(m, gen)
    with torch.no_grad():
        pred = m(dict(rgb=rgb), return_all_layers=True)['depth']
    out['dpt_depth_rgb'] = dict(model=m.state_dict(), inputs=dict(rgb=rgb),
                                expected=pred)
    # 2) rgb + depth -> semseg, ConvNeXt adapter, main_tasks rgb (the
    #    reference's ft_nyu_200e_multimae-b_rgb-depth.yaml readout)
    # 3) the same with main_tasks rgb-depth (concatenated along channels)
    for name, main in (('convnext_semseg_rgbd', ('rgb',)),
                       ('convnext_semseg_rgbd_concat', ('rgb', 'depth'))):
        m = build(['rgb', 'depth'], dict(semseg=ConvNeXtAdapter(
            num_classes=5, embed_dim=8 * 16, preds_per_patch=16,
            main_tasks=main, patch_size=16, depth=2)))
        perturb(m, gen)
        with torch.no_grad():
            pred = m(dict(rgb=rgb, depth=depth))['semseg']
        out[name] = dict(model=m.state_dict(),
                         inputs=dict(rgb=rgb, depth=depth), expected=pred)
    for name, d in out.items():
        d['meta'] = dict(reference='EPFL-VILAB/MultiMAE', commit=COMMIT,
                         torch=str(torch.__version__))
        path = os.path.join(OUT, f'{name}.pt')
        # Whole file or nothing (this runs without mmmae's atomic_io).
        torch.save(d, path + '.tmp')
        os.replace(path + '.tmp', path)
        print(name, tuple(d['expected'].shape),
              float(d['expected'].abs().mean()), len(d['model']))


main()
