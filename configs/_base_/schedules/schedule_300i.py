# 300 iterations: AdamW, linear warm-up for 30 iterations, then cosine decay
# to 1% of the base lr; validation every 100 iterations.
# Leaf configs override lr and layer-wise decay (paramwise_cfg/constructor).
_base_ = ['../default_hooks.py']
optimizer = dict(
    type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.05)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
        end=30),
    dict(
        type='CosineAnnealingLR', eta_min_ratio=0.01, by_epoch=False,
        begin=30, end=300),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=300, val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# A checkpoint every 50 iterations:
# a kill loses at most a sixth of this tiny run, and --resume continues
# it bit-identically (docs/crash_safety.md). A leaf that changes
# max_iters sets the interval too.
default_hooks = dict(
    logger=dict(interval=25), checkpoint=dict(interval=50))
