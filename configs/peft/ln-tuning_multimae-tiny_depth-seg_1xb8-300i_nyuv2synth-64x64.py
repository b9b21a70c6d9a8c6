# LayerNorm tuning (the Enhanced-MultiMAE future work; cf. Zhao et al.,
# ICLR 2024) on the frozen tiny backbone of the multi-task prompt config:
# the gain and bias of every LayerNorm train, nothing else in the backbone
# does (mmmae/models/peft/bias_norm_tuning.py). Backbone-side parameters get
# the prompts' lr x2.5 and no weight decay.
#   python tools/train.py configs/peft/ln-tuning_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py
_base_ = ['./heads-only_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(peft=dict(type='LNTuning')))
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'backbone.': dict(lr_mult=2.5, decay_mult=0.)}))
