# AdaptFormer (Chen et al., NeurIPS 2022) on a frozen MultiMAE ViT-B/16,
# joint NYUv2 depth + semseg: the reference's parallel bottleneck of 64,
# scale 0.1, dropout 0.1 in every block (mmmae/models/peft/adapters.py).
# The adapters get the prompts' lr x10 and no weight decay.
_base_ = ['./heads-only_multimae-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(backbone=dict(
    peft=dict(type='AdaptFormer', bottleneck=64, scale=0.1, dropout=0.1)))
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'backbone.': dict(lr_mult=10., decay_mult=0.)}))
