# Multi-task prompt tuning of the 4 NYUD-MT tasks (semseg, depth, normals,
# boundaries) on the FROZEN pre-trained tiny MultiMAE: the full fine-tuning
# config multimae_vit-tiny-p8-pt_seg-depth-normals-edge_1xb8-150i_*.py with
# the backbone frozen and 4 shared + 4 tokens per task per block (VPT-deep
# style, 20 prompt tokens per block) inserted in ONE backbone pass for all
# four tasks; each head reads its task's prompts through the zero-initialised
# per-task read-out (MultiTaskPrompt). Heads, losses, task weights, data and
# schedule are the full fine-tuning config's, so the two compare directly
# (README "Results", tools/misc/quickstart.sh). Pre-train first:
#   python tools/train.py configs/multimae/multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py
#   python tools/train.py configs/prompt/mtprompt_multimae-tiny-p8-pt_seg-depth-normals-edge_1xb8-150i_nyuv2synth-64x64.py
# Optimiser as the other tiny prompt configs (vpt-deep_multimae-tiny_p8_*):
# prompts at 2.5x the heads' lr, no decay on prompts and 1-d parameters.
_base_ = [
    '../multimae/'
    'multimae_vit-tiny-p8-pt_seg-depth-normals-edge_1xb8-150i_'
    'nyuv2synth-64x64.py'
]
model = dict(
    backbone=dict(
        frozen=True,
        prompt=dict(
            type='MultiTaskPrompt',
            tasks=('semseg', 'depth', 'normals', 'edge'),
            shared_length=4,
            task_length=4,
            deep=True,
            dropout=0.1)))
optim_wrapper = dict(
    constructor='PromptOptimWrapperConstructor',
    paramwise_cfg=dict(
        _delete_=True, prompt_lr_mult=2.5, prompt_decay_mult=0.,
        flat_decay_mult=0.))
# Checkpoints hold the trained part only (prompts, heads); the frozen
# pre-trained backbone is recorded by path + sha256 as their base.
custom_hooks = [
    dict(type='TrainableParamsHook'),
    dict(type='DeltaCheckpointHook'),
]
