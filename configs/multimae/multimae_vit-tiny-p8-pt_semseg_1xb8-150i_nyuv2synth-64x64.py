# Single-task twin of multimae_vit-tiny-p8-pt_seg-depth-normals-edge_1xb8-150i_nyuv2synth-64x64.py
# for its task "semseg": the same backbone, head, loss (task weight 1.0),
# data and schedule, the other three heads dropped. The Δm baseline of the
# 4-task runs (tools/analysis_tools/delta_m.py, tools/misc/quickstart.sh).
_base_ = ['./multimae_vit-tiny-p8-pt_seg-depth-normals-edge_1xb8-150i_nyuv2synth-64x64.py']

model = dict(
    task_weights=dict(_delete_=True, semseg=1.0),
    decode_heads=dict(depth=None, normals=None, edge=None))
targets = ('semseg', )
train_dataloader = dict(dataset=dict(targets=targets))
val_dataloader = dict(dataset=dict(targets=targets))
test_dataloader = val_dataloader
val_evaluator = [dict(type='mmseg.IoUMetric', iou_metrics=['mIoU'])]
test_evaluator = val_evaluator
