# MTLoRA (Agiza et al., CVPR 2024) on a frozen MultiMAE ViT-B/16, joint
# NYUv2 depth + semseg in one backbone pass: task-agnostic LoRA of rank 16
# everywhere, task-specific LoRA of rank 4 per task at the tapped blocks
# (MTLoRA's defaults in mmmae/models/peft/mtlora.py; norms and patch
# projections train, as that file documents for the reference). The
# backbone-side parameters get the prompts' lr x10, no weight decay.
_base_ = ['./heads-only_multimae-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(backbone=dict(peft=dict(
    type='MTLoRA', tasks=('depth', 'semseg'), rank=16, task_rank=4)))
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'backbone.': dict(lr_mult=10., decay_mult=0.)}))
