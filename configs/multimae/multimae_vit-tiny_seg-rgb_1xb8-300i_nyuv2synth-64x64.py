# Tiny CPU variant of multimae_vit-b_seg-rgb_1xb8-amp-20k_nyuv2-640x640.py:
# 40-class segmentation from rgb on the synthetic data (ConvNeXt head).
_base_ = ['./multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py']
targets = ('semseg', )
model = dict(decode_heads=dict(depth=None))
train_dataloader = dict(dataset=dict(targets=targets))
val_dataloader = dict(dataset=dict(targets=targets))
test_dataloader = val_dataloader
val_evaluator = dict(_delete_=True, type='mmseg.IoUMetric',
                     iou_metrics=['mIoU'])
test_evaluator = val_evaluator
