# Runtime shared by every mmmae config: scope, environment, hooks, logging.
default_scope = 'mmmae'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py and tools/test.py switch to gloo when CUDA is absent.
    dist_cfg=dict(backend='nccl'),
)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # A kill loses at most `interval` iterations: at most 5% of a 20k
    # schedule, 1.25% of 80k; leaf configs with short schedules save more
    # often (the 300-iteration ones every 50). The last iteration is always
    # saved too (save_last); the newest 3 are kept.
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
# Logs trainable vs total parameters at the start of every run.
custom_hooks = [dict(type='TrainableParamsHook')]
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='MultiTaskLocalVisualizer', vis_backends=vis_backends,
    name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
