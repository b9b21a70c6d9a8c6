# MTLoRA (Agiza et al., CVPR 2024) on the frozen tiny backbone of the
# multi-task prompt config: task-agnostic LoRA of rank 4 everywhere and
# task-specific LoRA of rank 2 for depth and semseg at the tapped blocks,
# all tasks in one backbone pass (mmmae/models/peft/mtlora.py; norms and
# patch projections train, as in the reference). Backbone-side parameters
# get the prompts' lr x2.5 and no weight decay.
#   python tools/train.py configs/peft/mtlora_multimae-tiny_r4-t2_depth-seg_1xb8-300i_nyuv2synth-64x64.py
_base_ = ['./heads-only_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(peft=dict(
    type='MTLoRA', tasks=('depth', 'semseg'), rank=4, task_rank=2)))
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'backbone.': dict(lr_mult=2.5, decay_mult=0.)}))
