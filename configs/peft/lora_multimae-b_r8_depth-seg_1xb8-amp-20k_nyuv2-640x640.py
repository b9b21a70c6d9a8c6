# LoRA (Hu et al., ICLR 2022) on a frozen MultiMAE ViT-B/16, joint NYUv2
# depth + semseg: rank 8, alpha 16 on q, k, v, the attention output and
# both MLP layers of every block. Heads, data, schedule as the heads-only
# config; the LoRA parameters get the prompts' lr x10 and no weight decay.
# After training they can be merged into the frozen weights (docs/peft.md).
_base_ = ['./heads-only_multimae-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(backbone=dict(peft=dict(type='LoRA', rank=8, alpha=16.)))
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'backbone.': dict(lr_mult=10., decay_mult=0.)}))
