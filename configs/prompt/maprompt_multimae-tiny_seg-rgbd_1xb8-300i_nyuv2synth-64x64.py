# Tiny CPU variant of maprompt_multimae-b_seg-rgbd_1xb8-amp-20k_nyuv2-640x640.py:
# 4 prompt tokens per modality per block plus a per-subset bias, semseg from
# rgb + depth (random frozen tiny backbone).
# Readout: unlike the reference setting of the base config (the head reads
# the rgb tokens only), the head averages the patch tokens of the
# modalities present: a model meant to run with either modality missing
# cannot depend on the rgb tokens, and an average keeps the head's width
# when one is dropped.
_base_ = ['../multimae/multimae_vit-tiny_seg-rgbd_1xb8-300i_nyuv2synth-64x64.py']

model = dict(
    backbone=dict(
        frozen=True,
        prompt=dict(type='ModalityAwarePrompt', modalities=('rgb', 'depth'),
                    length=4, deep=True, dropout=0.1)),
    readout=dict(modalities=None, mode='mean'))
optim_wrapper = dict(
    constructor='PromptOptimWrapperConstructor',
    paramwise_cfg=dict(
        _delete_=True, prompt_lr_mult=2.5, prompt_decay_mult=0.,
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
