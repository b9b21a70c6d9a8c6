# The dense multi-task literature's schedule on NYUD-MT and PASCAL-Context
# MT (InvPT code/configs/nyud/nyud_vitLp16.yml, TaskPrompter configs/nyud/
# nyud_vitLp16_taskprompter.yml and configs/pascal/
# pascal_vitBp16_taskprompter.yml): 40,000 iterations of batch 2
# (trBatch), Adam (lr 2e-5, weight decay 1e-6, one parameter group), poly
# decay with power 0.9 to 0 stepped every iteration (utils/train_utils.py
# PolynomialLR, gamma=0.9, min_lr=0), gradient clipping at norm 10
# (TaskPrompter's grad_clip_param). The optimiser itself is in
# ../models/multimae_vit-b_dense-mt.py, which replaces the NYUv2 model's
# layer-decayed AdamW (two bases may not both define optim_wrapper).
# Validation at the end only: the boundary metric costs ~10 s per
# 448 x 576 image (BoundaryMetric).
_base_ = ['../default_hooks.py']
max_iters = 40000
param_scheduler = [
    dict(type='PolyLR', power=0.9, eta_min=0., by_epoch=False, begin=0,
         end=max_iters),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# A checkpoint every 2000 iterations
# (5% of the schedule): a kill loses at most that much
# (docs/crash_safety.md). A leaf that changes max_iters sets it too.
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=2000))
