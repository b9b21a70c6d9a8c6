# Houlsby adapters (Houlsby et al., ICML 2019) on the frozen tiny backbone of
# the multi-task prompt config: a sequential bottleneck (16 wide; 64 for
# ViT-B, adapter-bert's default) with a skip after every attention and MLP,
# truncated-normal init std 1e-3, and the blocks' LayerNorms trained as in
# adapter-bert (mmmae/models/peft/adapters.py). Backbone-side parameters get
# the prompts' lr x2.5 and no weight decay.
#   python tools/train.py configs/peft/houlsby_multimae-tiny_b16_depth-seg_1xb8-300i_nyuv2synth-64x64.py
_base_ = ['./heads-only_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(
    peft=dict(type='HoulsbyAdapter', bottleneck=16, init_scale=1e-3,
              train_norms=True)))
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'backbone.': dict(lr_mult=2.5, decay_mult=0.)}))
