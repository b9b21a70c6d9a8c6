# 20000 iterations: AdamW, linear warm-up for 1500 iterations, then cosine decay
# to 1% of the base lr; validation every 2000 iterations.
# Leaf configs override lr and layer-wise decay (paramwise_cfg/constructor).
_base_ = ['../default_hooks.py']
optimizer = dict(
    type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='CosineAnnealingLR', eta_min_ratio=0.01, by_epoch=False,
        begin=1500, end=20000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20000, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# A checkpoint every 1000 iterations
# (5% of the schedule): a kill loses at most that much
# (docs/crash_safety.md). A leaf that changes max_iters sets it too.
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=1000))
