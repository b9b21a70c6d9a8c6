# AdaptFormer (Chen et al., NeurIPS 2022) on the frozen tiny backbone of the
# multi-task prompt config: a parallel bottleneck (16 wide for the 128-wide
# tiny model; 64 for ViT-B, the reference's ffn_num), scale 0.1, dropout
# 0.1, in every block (mmmae/models/peft/adapters.py). Same tasks, data,
# schedule and optimiser as the prompt config; the backbone-side parameters
# get the prompts' lr x2.5 and no weight decay.
#   python tools/train.py configs/peft/adaptformer_multimae-tiny_b16-s0.1_depth-seg_1xb8-300i_nyuv2synth-64x64.py
_base_ = ['./heads-only_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(
    peft=dict(type='AdaptFormer', bottleneck=16, scale=0.1, dropout=0.1)))
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'backbone.': dict(lr_mult=2.5, decay_mult=0.)}))
