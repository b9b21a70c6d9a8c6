# MultiMAE ViT-B/16 fine-tuned on ADE20K semantic segmentation from rgb: the
# reference recipe cfgs/finetune/semseg/ade/ft_ade_64e_multimae-b_rgb.yaml
# with run_finetuning_semseg.py's defaults (EPFL-VILAB/MultiMAE); paper:
# 46.2 mIoU.
#   model: MultiViT-B (rgb adapter, 1 global token, drop path 0.1, position
#          grid for 512 px) as the backbone of a stock mmseg EncoderDecoder,
#          with the reference's ConvNeXt output adapter (decoder_dim 6144 =
#          16 predictions per patch x 384 channels, 4 blocks, no layer
#          scale) on the last block; cross-entropy ignoring 255;
#   optimiser: AdamW lr 1e-4 (absolute, not scaled with the batch), wd 0.05
#          (none on 1-d parameters and the global token), layer-wise lr
#          decay 0.75, AMP (the script's fp16 default);
#   schedule: 64 epochs, 1 warm-up epoch from 1e-6, cosine to 0, per
#          iteration; validation every epoch (eval_freq 1);
#   data: ../_base_/datasets/ade20k.py (aug 'simple' at 512).
# Differences: 4 images per GPU as the yaml; the GPU count is not in it, 4
# GPUs (16) are assumed. See ade20k.py for the augmentation details.
_base_ = [
    '../_base_/datasets/ade20k.py',
    '../_base_/default_runtime.py', '../_base_/default_hooks.py',
]
embed_dims = 768
model = dict(
    type='mmseg.EncoderDecoder',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='MultiViT',
        arch='b',
        img_size=512,
        patch_size=16,
        drop_path_rate=0.1,
        out_indices=(11, ),
        input_adapters=dict(
            rgb=dict(type='PatchedInputAdapter', in_channels=3)),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/multimae-b_converted.pth',
            prefix='backbone.')),
    decode_head=dict(
        type='ConvNeXtHead',
        in_channels=embed_dims,
        in_index=-1,
        channels=384,
        preds_per_patch=16,
        num_blocks=4,
        layer_scale_init_value=0.,
        num_classes=150,
        ignore_index=255,
        loss_decode=dict(type='mmseg.CrossEntropyLoss', avg_non_ignore=True,
                         loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999),
                   weight_decay=0.05),
    # mmseg's EncoderDecoder has no get_layer_depth: read the backbone's.
    constructor='BackboneLayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        flat_decay_mult=0.,
        custom_keys={'global_tokens': dict(decay_mult=0.)}))
max_epochs = 64
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
    checkpoint=dict(by_epoch=True, interval=1, max_keep_ckpts=3),
    visualization=dict(type='mmseg.SegVisualizationHook', draw=False))
visualizer = dict(type='mmseg.SegLocalVisualizer', vis_backends=[
    dict(type='LocalVisBackend')], name='visualizer')
# The lr above is for 4 x 4 images per step (the name's
# 4xb4); tools/train.py --auto-scale-lr rescales it linearly to
# the real total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
