# Houlsby adapters (Houlsby et al., ICML 2019) on a frozen MultiMAE
# ViT-B/16, joint NYUv2 depth + semseg: adapter-bert's sequential
# bottleneck of 64 after every attention and MLP, init std 1e-3, LayerNorms
# trained (mmmae/models/peft/adapters.py). Backbone-side parameters get the
# prompts' lr x10 and no weight decay.
_base_ = ['./heads-only_multimae-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(backbone=dict(
    peft=dict(type='HoulsbyAdapter', bottleneck=64, init_scale=1e-3,
              train_norms=True)))
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'backbone.': dict(lr_mult=10., decay_mult=0.)}))
