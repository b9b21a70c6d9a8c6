# Modality-aware prompts on a frozen MultiMAE ViT-B/16, NYUv2 semseg from
# rgb + depth: 10 prompt tokens per modality per block (deep), the sets of
# the modalities present inserted together, plus a learned bias per
# modality subset (rgb, depth, rgb+depth). Test with one modality dropped
# through --cfg-options (input_modalities and the dataloaders' modalities)
# to see the subset conditioning at work.
# Readout: unlike the reference setting of the base config (the head reads
# the rgb tokens only), the head averages the patch tokens of the
# modalities present: a model meant to run with either modality missing
# cannot depend on the rgb tokens, and an average keeps the head's width
# when one is dropped.
_base_ = ['../multimae/multimae_vit-b_seg-rgbd_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(
    backbone=dict(
        frozen=True,
        prompt=dict(type='ModalityAwarePrompt', modalities=('rgb', 'depth'),
                    length=10, deep=True, dropout=0.1)),
    readout=dict(modalities=None, mode='mean'))
optim_wrapper = dict(
    constructor='PromptOptimWrapperConstructor',
    paramwise_cfg=dict(
        _delete_=True, prompt_lr_mult=10., prompt_decay_mult=0.,
        flat_decay_mult=0.))
custom_hooks = [
    dict(type='TrainableParamsHook'),
    dict(type='DeltaCheckpointHook'),
]
# The subset biases of absent modality subsets (here rgb alone, depth
# alone) get no gradient, so DDP must look for unused parameters (checked:
# 2-process gloo training fails without it). A model_wrapper_cfg, not
# find_unused_parameters, so the CPU launch path (device_ids=None) keeps it.
model_wrapper_cfg = dict(
    type='MMDistributedDataParallel', find_unused_parameters=True)
