# VPT-deep (Jia et al., ECCV 2022) on a frozen MultiMAE ViT-B/16: 50 prompt
# tokens per block, replaced before every block, prompt dropout 0.1 (the
# paper's setting). Joint NYUv2 depth + semseg from rgb, one backbone pass;
# heads, data and schedule as the full fine-tuning config it inherits.
# Trainable: prompts 0.46M (0.54% of the backbone) + the paper heads
# (28.4M); the -light config keeps the whole trainable share near 2.5%.
# Optimiser (our choice; VPT tuned SGD per dataset): AdamW lr 1e-4 for the
# heads, x10 and no weight decay for the prompts. Checkpoints hold only
# the trained part plus the base's path and fingerprint (DeltaCheckpointHook).
_base_ = ['../multimae/multimae_vit-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(backbone=dict(
    frozen=True,
    prompt=dict(type='DeepPrompt', length=50, dropout=0.1)))
optim_wrapper = dict(
    constructor='PromptOptimWrapperConstructor',
    paramwise_cfg=dict(
        _delete_=True, prompt_lr_mult=10., prompt_decay_mult=0.,
        flat_decay_mult=0.))
custom_hooks = [
    dict(type='TrainableParamsHook'),
    dict(type='DeltaCheckpointHook'),
]
