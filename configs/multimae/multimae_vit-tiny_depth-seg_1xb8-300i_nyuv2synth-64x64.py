# Quickstart: a tiny MultiMAE-style model learns depth and 40-class
# segmentation from rgb on the embedded synthetic NYUv2 data, on a CPU, in a
# few minutes (300 iterations of batch 8), and prints mmseg's IoUMetric and
# DepthMetric tables for the whole synthetic test split.
#
#   python tools/dataset_converters/synthetic_nyuv2.py --out data/nyuv2_synth
#   python tools/train.py configs/multimae/multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py
#
# Measured on a shared 2-core CPU, whole synthetic test split (50 images):
# the iter-0 model scores mIoU 0.15, delta1 0.06; after the 300 iterations
# mIoU 46-51, delta1 0.72-0.75 (tests/test_models/test_segmentors/
# test_tiny_finetune_learns.py, pytest -m slow -s). With OMP_NUM_THREADS=1
# the 300 iterations take about 1.5 min; on a busy machine torch's default
# thread count can make them 5-10x slower.
# Data: 96 x 128 images, first scaled to 64 px high (x 1-1.5 jitter) so a
# 64 x 64 crop keeps most of the room in view; tested at 64 px high and the
# predictions resized back to 96 x 128. No colour jitter: colour and shading
# carry the depth cues of these scenes (with jitter delta1 stays near 0.5).
_base_ = [
    '../_base_/models/multimae_vit-tiny_nyuv2synth.py',
    '../_base_/datasets/nyuv2_synth.py',
    '../_base_/default_runtime.py', '../_base_/default_hooks.py',
]
crop_size = (64, 64)
scale = (85, 64)  # (w, h): 96 x 128 -> 64 x 85
train_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='MultiModalRandomResize', scale=scale, ratio_range=(1.0, 1.5)),
    dict(type='MultiModalRandomCrop', crop_size=crop_size),
    dict(type='MultiModalRandomFlip', prob=0.5),
    dict(type='PackMultiModalInputs'),
]
test_pipeline = [
    dict(type='LoadMultiModalFromFile', load_targets=False),
    dict(type='MultiModalResize', scale=scale),
    # ground truth at the original 96 x 128
    dict(type='LoadMultiModalFromFile', load_inputs=False),
    dict(type='PackMultiModalInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 300
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=30),
    dict(type='CosineAnnealingLR', eta_min_ratio=0.01, by_epoch=False,
         begin=30, end=max_iters),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# A checkpoint every 50 iterations (the newest 3 kept, the last included):
# a kill loses at most 50 of the 300 iterations, and --resume continues
# bit-identically (docs/crash_safety.md).
default_hooks = dict(
    logger=dict(interval=25), checkpoint=dict(interval=50))
randomness = dict(seed=0)
# The lr above is for 1 x 8 images per step (the name's
# 1xb8); tools/train.py --auto-scale-lr rescales it linearly to
# the real total batch.
auto_scale_lr = dict(enable=False, base_batch_size=8)
