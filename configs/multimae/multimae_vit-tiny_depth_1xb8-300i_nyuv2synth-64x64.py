# Tiny CPU variant of multimae_vit-b_depth_8xb16-12k_nyuv2-256x256.py: depth
# from rgb on the synthetic data (DPT head, BerHu loss).
_base_ = ['./multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py']
targets = ('depth', )
model = dict(decode_heads=dict(semseg=None))
train_dataloader = dict(dataset=dict(targets=targets))
val_dataloader = dict(dataset=dict(targets=targets))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True, type='mmseg.DepthMetric', min_depth_eval=1e-3,
    max_depth_eval=10.0)
test_evaluator = val_evaluator
