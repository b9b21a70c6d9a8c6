# Runtime shared by every mmmae config: scope, environment, hooks, logging.
default_scope = 'mmmae'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py and tools/test.py switch to gloo when CUDA is absent.
    dist_cfg=dict(backend='nccl'),
)
# default_hooks (checkpoint and logger intervals) come with the schedule,
# as in mmseg: ./schedules/*.py, or ./default_hooks.py beside a leaf
# config's own schedule.
# Logs trainable vs total parameters at the start of every run.
custom_hooks = [dict(type='TrainableParamsHook')]
# The visualizer's backends: local files (scalars.json, pictures). A leaf
# may set this list, or add a tracker by listing a snippet of
# _base_/vis_backends/ (tensorboard.py, wandb.py, mlflow.py) in its _base_:
# tools/train.py and tools/test.py put the result into
# visualizer.vis_backends (mmmae.utils.vis_backends).
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='MultiTaskLocalVisualizer', vis_backends=vis_backends,
    name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
