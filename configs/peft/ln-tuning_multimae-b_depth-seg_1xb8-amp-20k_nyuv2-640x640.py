# LayerNorm tuning on a frozen MultiMAE ViT-B/16, joint NYUv2 depth +
# semseg: the gain and bias of every LayerNorm train. They get the prompts'
# lr x10 and no weight decay.
_base_ = ['./heads-only_multimae-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(backbone=dict(peft=dict(type='LNTuning')))
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'backbone.': dict(lr_mult=10., decay_mult=0.)}))
