# Multi-task prompt tuning of the frozen MultiMAE ViT-B/16 on pascal-context-mt:
# the full fine-tuning config ../multimae/multimae_vit-b_seg-parts-sal-normals-edge_1xb2-40k_pascal-context-mt-512x512.py
# (data, heads, losses, task weights, schedule, metrics) with the backbone
# frozen and 10 shared + 10 per-task prompt tokens per block (deep, VPT
# init, dropout 0.1) for all tasks in ONE backbone pass; each head reads its
# task's prompts through the zero-initialised per-task read-out
# (MultiTaskPrompt). Optimiser: the literature's Adam, poly schedule and
# clipping, with the prompts at 10x the heads' lr and without decay, as the
# other mmmae ViT-B prompt configs (vpt-deep_multimae-b_p50_*: our choice,
# the dense multi-task papers fine-tune everything).
_base_ = ['../multimae/multimae_vit-b_seg-parts-sal-normals-edge_1xb2-40k_pascal-context-mt-512x512.py']
model = dict(
    backbone=dict(
        frozen=True,
        prompt=dict(
            type='MultiTaskPrompt',
            tasks=('semseg', 'parts', 'sal', 'normals', 'edge'),
            shared_length=10,
            task_length=10,
            deep=True,
            dropout=0.1)))
optim_wrapper = dict(
    constructor='PromptOptimWrapperConstructor',
    paramwise_cfg=dict(prompt_lr_mult=10., prompt_decay_mult=0.,
                       flat_decay_mult=0.))
custom_hooks = [
    dict(type='TrainableParamsHook'),
    dict(type='DeltaCheckpointHook'),
]
