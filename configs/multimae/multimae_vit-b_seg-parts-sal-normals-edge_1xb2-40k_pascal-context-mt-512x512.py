# PASCAL-Context MT (Maninis et al., CVPR 2019) with MultiMAE ViT-B/16, full
# fine-tuning: semseg (21 classes), human parts (7), saliency, surface
# normals and boundaries from rgb in ONE backbone pass, at the literature's
# 512 x 512 crops and schedule. Sources:
#   data / augmentation: ../_base_/datasets/pascal_context_mt.py (InvPT and
#     TaskPrompter utils/common_config.py get_transformations, from ATRC);
#   losses, task weights (semseg 1, parts 2, sal 5, normals 10, edge 50),
#     edge positive weight 0.95: TaskPrompter configs/pascal/
#     pascal_vitBp16_taskprompter.yml (and InvPT's PASCAL config);
#   schedule (40k iterations of batch 2, Adam 2e-5, poly 0.9, clip 10):
#     ../_base_/schedules/schedule_40k_dense-mt.py;
#   metrics: mIoU, parts mIoU, saliency maxF and mIoU, normals mean angle,
#     odsF with PASCAL's maxDist 0.0075.
# Heads are MultiMAE's adapters (../_base_/models/multimae_vit-b_dense-mt.py),
# not the papers' decoders.
#   python tools/train.py configs/multimae/multimae_vit-b_seg-parts-sal-normals-edge_1xb2-40k_pascal-context-mt-512x512.py
_base_ = [
    '../_base_/models/multimae_vit-b_dense-mt.py',
    '../_base_/datasets/pascal_context_mt.py',
    '../_base_/schedules/schedule_40k_dense-mt.py',
    '../_base_/default_runtime.py',
]
num_classes = 21
model = dict(
    task_weights=dict(semseg=1.0, parts=2.0, sal=5.0, normals=10.0,
                      edge=50.0),
    decode_heads=dict(depth=None, semseg=dict(num_classes=num_classes)))
train_dataloader = dict(batch_size=2)
val_evaluator = [
    dict(type='mmseg.IoUMetric', iou_metrics=['mIoU']),
    dict(type='HumanPartsIoUMetric'),
    dict(type='SaliencyMetric'),
    dict(type='NormalsMetric'),
    dict(type='BoundaryMetric', max_dist=0.0075),
]
test_evaluator = val_evaluator
# A checkpoint every 2,000 iterations (5% of the run).
default_hooks = dict(checkpoint=dict(interval=2000))
# The lr above is for 1 x 2 images per step (the name's
# 1xb2); tools/train.py --auto-scale-lr rescales it linearly to
# the real total batch.
auto_scale_lr = dict(enable=False, base_batch_size=2)
