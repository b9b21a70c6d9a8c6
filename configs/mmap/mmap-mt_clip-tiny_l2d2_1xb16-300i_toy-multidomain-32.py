# Tiny CPU variant of MmAP-MT: a random tiny CLIP on the generated
# separable toy folder (tools/dataset_converters/make_toy_multidomain.py).
#  1. python tools/dataset_converters/make_toy_multidomain.py data/toy_multidomain
#  2. python tools/train.py configs/mmap/mmap-mt_clip-tiny_l2d2_1xb16-300i_toy-multidomain-32.py
# The groups come from configs/mmap/groupings/toy-multidomain.json, which
# tools/analysis_tools/task_affinity.py wrote from a 20-step warm-up on the
# data of step 1 (command in docs/mmap.md); re-measure them with
#     python tools/analysis_tools/task_affinity.py configs/mmap/mmap-mt_clip-tiny_l2d2_1xb16-300i_toy-multidomain-32.py \
#         --warmup-iters 20 --out work_dirs/task_affinity/toy-multidomain.json
# and pass --cfg-options model.prompt.grouping_file=work_dirs/task_affinity/toy-multidomain.json
_base_ = [
    '../_base_/models/clip_vit-tiny.py',
    '../_base_/datasets/toy_multidomain.py', '../_base_/default_runtime.py', '../_base_/default_hooks.py'
]
model = dict(
    tasks={{_base_.tasks}},
    class_names={{_base_.class_names}},
    prompt=dict(
        type='MmAPPrompt',
        length=2,
        depth=2,
        grouping_file='configs/mmap/groupings/toy-multidomain.json',
        group_shared=True,
        task_specific=True))
# AdamW: with a random tiny CLIP, SGD (lr 0.05, momentum 0.9) barely moves
# the prompts in 300 steps (mean top-1 36% against 89% with AdamW).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=300, by_epoch=False, begin=0,
         end=300)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=300, val_interval=300)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=50))
# Checkpoints keep the prompts only (the random tiny CLIP goes to
# work_dir/frozen_base-<fingerprint>.pth once).
custom_hooks = [
    dict(type='TrainableParamsHook'),
    dict(type='DeltaCheckpointHook'),
]
randomness = dict(seed=0)
# The lr above is for 1 x 16 images per step (the name's
# 1xb16); tools/train.py --auto-scale-lr rescales it linearly to
# the real total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
