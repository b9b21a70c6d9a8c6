# Tiny CPU variant of vpt-deep_multimae-b_p50_1xb8-amp-20k_nyuv2-640x640.py
# on the embedded synthetic NYUv2 data: 8 prompt tokens per block of the
# tiny (128-wide, 4-block) backbone, joint depth + semseg from rgb.
# The frozen backbone is RANDOMLY initialised (no pre-trained tiny
# checkpoint is shipped), so the figures show the plumbing and what prompts
# plus light heads learn on random features, not what prompting a
# pre-trained MultiMAE gives.
#   python tools/train.py configs/prompt/vpt-deep_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py
_base_ = ['../multimae/multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(
    frozen=True,
    prompt=dict(type='DeepPrompt', length=8, dropout=0.1)))
optim_wrapper = dict(
    constructor='PromptOptimWrapperConstructor',
    paramwise_cfg=dict(
        _delete_=True, prompt_lr_mult=2.5, prompt_decay_mult=0.,
        flat_decay_mult=0.))
custom_hooks = [
    dict(type='TrainableParamsHook'),
    dict(type='DeltaCheckpointHook'),
]
