# MultiMAE ViT-B/16, NYUv2 depth + segmentation from rgb with one backbone
# pass: DPT (BerHu) and ConvNeXt (cross-entropy) heads, losses summed with
# weight 1. The paper fine-tunes each task separately; this joint model
# uses the segmentation recipe (batch 8, 200 epochs, AdamW lr 1e-4, wd
# 0.05, layer decay 0.75, drop-path 0.1, AMP) and its 640 px data with
# depth carried along; both mmseg metrics run on the whole test split
# (../_base_/datasets/nyuv2_depth-seg.py).
_base_ = [
    '../_base_/models/multimae_vit-b_nyuv2.py',
    '../_base_/datasets/nyuv2_depth-seg.py',
    '../_base_/default_runtime.py', '../_base_/default_hooks.py',
]
max_iters = 19875
warmup_iters = 100
optim_wrapper = dict(
    type='AmpOptimWrapper', loss_scale='dynamic',
    optimizer=dict(lr=1e-4, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-6, by_epoch=False,
         begin=warmup_iters, end=max_iters),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1988)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# A checkpoint every 994 iterations (5% of the run; every other one
# with a validation): a kill loses at most that much.
default_hooks = dict(checkpoint=dict(interval=994))
# The lr above is for 1 x 8 images per step (the name's
# 1xb8); tools/train.py --auto-scale-lr rescales it linearly to
# the real total batch.
auto_scale_lr = dict(enable=False, base_batch_size=8)
