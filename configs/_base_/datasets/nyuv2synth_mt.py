# The embedded synthetic NYUv2-format dataset (nyuv2_synth.py: same crops,
# jitter and loaders) with the four NYUD-MT tasks as targets of rgb:
# semseg, depth, surface normals, boundaries; saliency ('sal') is there too.
# Generator version 2 writes the normals/edge/sal folders (a folder of an
# older version is regenerated automatically):
#   python tools/dataset_converters/synthetic_nyuv2.py --out data/nyuv2_synth
# The inherited val_evaluator covers semseg and depth only; the model
# config adds one evaluator per task (gt_normals, gt_edge). The joint
# transforms keep normals unit and turn them with a flip, and keep
# boundaries binary (mmmae/datasets/transforms/_fields.py).
_base_ = ['./nyuv2_synth.py']
targets = ('semseg', 'depth', 'normals', 'edge')
train_dataloader = dict(dataset=dict(targets=targets))
val_dataloader = dict(dataset=dict(targets=targets))
test_dataloader = val_dataloader
