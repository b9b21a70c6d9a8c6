# NYUD-MT with MultiMAE ViT-B/16, full fine-tuning: semseg (40 classes),
# depth, surface normals and boundaries from rgb in ONE backbone pass, at
# the literature's 448 x 576 crops and schedule. Sources:
#   data / augmentation: ../_base_/datasets/nyud_mt.py (InvPT and
#     TaskPrompter utils/common_config.py get_transformations, from ATRC);
#   losses, task weights (semseg 1, depth 1, normals 10, edge 50), edge
#     positive weight 0.95: InvPT code/configs/nyud/nyud_vitLp16.yml and
#     TaskPrompter configs/nyud/nyud_vitLp16_taskprompter.yml;
#   schedule (40k iterations of batch 2, Adam 2e-5, poly 0.9, clip 10):
#     ../_base_/schedules/schedule_40k_dense-mt.py;
#   metrics: mIoU, depth RMSE, normals mean angle, odsF with NYUD's
#     maxDist 0.011 (the Δm metrics, tools/analysis_tools/delta_m.py).
# Heads are MultiMAE's adapters (../_base_/models/multimae_vit-b_dense-mt.py),
# not the papers' decoders; depth is trained with BerHu, not L1.
#   python tools/train.py configs/multimae/multimae_vit-b_seg-depth-normals-edge_1xb2-40k_nyud-mt-448x576.py
_base_ = [
    '../_base_/models/multimae_vit-b_dense-mt.py',
    '../_base_/datasets/nyud_mt.py',
    '../_base_/schedules/schedule_40k_dense-mt.py',
    '../_base_/default_runtime.py',
]
model = dict(
    task_weights=dict(semseg=1.0, depth=1.0, normals=10.0, edge=50.0),
    decode_heads=dict(parts=None, sal=None))
train_dataloader = dict(batch_size=2)
val_evaluator = [
    dict(type='mmseg.IoUMetric', iou_metrics=['mIoU']),
    dict(type='mmseg.DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0),
    dict(type='NormalsMetric'),
    dict(type='BoundaryMetric', max_dist=0.011),
]
test_evaluator = val_evaluator
# A checkpoint every 2,000 iterations (5% of the run).
default_hooks = dict(checkpoint=dict(interval=2000))
# The lr above is for 1 x 2 images per step (the name's
# 1xb2); tools/train.py --auto-scale-lr rescales it linearly to
# the real total batch.
auto_scale_lr = dict(enable=False, base_batch_size=2)
