# MultiMAE ViT-B/16 fine-tuned on Hypersim 40-class semantic segmentation
# from rgb: the reference recipe
# cfgs/finetune/semseg/hypersim/ft_hypersim_25e_multimae-b_rgb.yaml with
# run_finetuning_semseg.py's defaults (EPFL-VILAB/MultiMAE).
#   model: MultiViT-B (drop path 0.1, position grid for 512 px) with the
#          reference's ConvNeXt output adapter (16 predictions per patch x
#          384 channels, 4 blocks) reading the rgb tokens of the last
#          block, in MultiTaskSegmentor (the NYUv2 model base, depth head
#          dropped), so rgb-depth and depth inputs are a dataset/backbone
#          change (modalities, input_adapters) as the reference's other
#          Hypersim yamls;
#   optimiser: AdamW lr 1e-4, wd 0.05 (none on 1-d parameters and the
#          global token), layer-wise lr decay 0.75, fp32 (fp16: False);
#   schedule: 25 epochs, 1 warm-up epoch from 1e-6, cosine to 0, per
#          iteration; validation on the val split every epoch;
#   data: ../_base_/datasets/hypersim.py (aug 'simple' at 512).
# Differences: 4 images per GPU as the yaml; the GPU count is not in it, 4
# GPUs (16) are assumed. Test images are padded to a multiple of 16, not
# to 512 x 512.
_base_ = [
    '../_base_/models/multimae_vit-b_nyuv2.py',
    '../_base_/datasets/hypersim.py',
    '../_base_/default_runtime.py', '../_base_/default_hooks.py',
]
model = dict(
    backbone=dict(img_size=512),
    decode_heads=dict(depth=None, semseg=dict(num_classes=40)))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(lr=1e-4, weight_decay=0.05))
max_epochs = 25
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=0.,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(by_epoch=True, interval=1, max_keep_ckpts=3))
# The lr above is for 4 x 4 images per step (the name's
# 4xb4); tools/train.py --auto-scale-lr rescales it linearly to
# the real total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
