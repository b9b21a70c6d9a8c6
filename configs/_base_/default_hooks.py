# The hooks every mmmae run uses. Schedule files (./schedules/*.py) inherit
# this and set the checkpoint and logger intervals for their length, as
# mmseg's schedule files do; a leaf config that writes its own schedule
# inherits it directly and sets the intervals beside max_iters.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # A kill loses at most `interval` iterations. Each schedule file sets
    # it to 5% of its length (a leaf with its own schedule sets it beside
    # max_iters); the last iteration is always saved too (save_last); the
    # newest 3 are kept.
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=1000,
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Every RNG state (python, numpy, torch, CUDA, dataloader workers) in
    # each checkpoint: a resumed run is bit-identical to an uninterrupted
    # one on the CPU (docs/crash_safety.md, "Exact resume"). A default hook
    # so that leaf configs which set custom_hooks keep it.
    rng_state=dict(type='RngStateHook'),
    # tools/test.py --show-dir sets draw=True and show_dir.
    visualization=dict(type='MultiTaskVisualizationHook', draw=False),
    # meta['mmmae_model'] in every checkpoint; a checkpoint of another
    # model fails on resume (tools/test.py: on every load).
    model_identity=dict(type='ModelIdentityHook'),
)
