# Single-task twin of multimae_vit-tiny-p8-pt_seg-depth-normals-edge_1xb8-150i_nyuv2synth-64x64.py
# for its task "depth": the same backbone, head, loss (task weight 1.0),
# data and schedule, the other three heads dropped. The Δm baseline of the
# 4-task runs (tools/analysis_tools/delta_m.py, tools/misc/quickstart.sh).
_base_ = ['./multimae_vit-tiny-p8-pt_seg-depth-normals-edge_1xb8-150i_nyuv2synth-64x64.py']

model = dict(
    task_weights=dict(_delete_=True, depth=1.0),
    decode_heads=dict(semseg=None, normals=None, edge=None))
targets = ('depth', )
train_dataloader = dict(dataset=dict(targets=targets))
val_dataloader = dict(dataset=dict(targets=targets))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='mmseg.DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0)
]
test_evaluator = val_evaluator
