# 80000 iterations: AdamW, linear warm-up for 1500 iterations, then cosine decay
# to 1% of the base lr; validation every 8000 iterations.
# Leaf configs override lr and layer-wise decay (paramwise_cfg/constructor).
# Checkpoint and logger intervals live in default_runtime.py's default_hooks
# (two bases may not both define default_hooks); a leaf overrides them with
# default_hooks = dict(checkpoint=dict(interval=N)). Keep N at most 5% of
# max_iters: a kill loses at most N iterations (docs/crash_safety.md).
optimizer = dict(
    type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
        end=1500),
    dict(
        type='CosineAnnealingLR', eta_min_ratio=0.01, by_epoch=False,
        begin=1500, end=80000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
