# MultiMAE ViT-B/16 fine-tuned on ImageNet-1K classification: the reference
# recipe cfgs/finetune/cls/ft_in1k_100e_multimae-b.yaml with
# run_finetuning_cls.py's defaults (EPFL-VILAB/MultiMAE); paper: 83.3 top-1.
#   model: MultiViT-B (rgb adapter only, 1 global token, drop path 0.1) in a
#          stock mmpretrain ImageClassifier; the reference's linear output
#          adapter: mean of all encoder tokens (use_mean_pooling), LayerNorm
#          (eps 1e-6; MultiViT out_type='avg_featmap', fc_norm), linear head
#          initialised trunc-normal std 0.02 x init_scale 0.001;
#   optimiser: AdamW, betas (0.9, 0.999), wd 0.05 (none on 1-d parameters
#          and the global token), layer-wise lr decay 0.65, AMP;
#          lr = blr 5e-4 x total batch / 256 = 2e-3 for 8 x 128;
#   schedule: 100 epochs, 5 warm-up epochs from 1e-6, cosine to 1e-6, per
#          iteration;
#   regularisation: mixup 0.8 / cutmix 1.0 (one of the two per batch, each
#          with probability 1/2), label smoothing 0.1, no random erasing;
#   data: ../_base_/datasets/imagenet.py (RandAugment rand-m9-mstd0.5-inc1).
# Differences: the yaml sets 128 images per GPU but not the GPU count; 8
# GPUs (1024) is assumed here, and lr follows the reference's scaling rule
# (auto_scale_lr base 1024 keeps it for other batch sizes). No model EMA, no
# gradient clipping: the reference's defaults are off.
# The backbone starts from the converted MultiMAE checkpoint.
_base_ = [
    '../_base_/datasets/imagenet.py',
    '../_base_/default_runtime.py', '../_base_/default_hooks.py',
]
embed_dims = 768
model = dict(
    type='mmpretrain.ImageClassifier',
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        type='MultiViT',
        arch='b',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        out_type='avg_featmap',
        input_adapters=dict(
            rgb=dict(type='PatchedInputAdapter', in_channels=3)),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/multimae-b_converted.pth',
            prefix='backbone.')),
    neck=None,
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=1000,
        in_channels=embed_dims,
        loss=dict(type='mmpretrain.LabelSmoothLoss', label_smooth_val=0.1,
                  mode='original'),
        # mixup labels are soft: no accuracy on them
        cal_acc=False,
        init_cfg=dict(type='TruncNormal', layer='Linear', std=2e-5,
                      bias=0.)),
    train_cfg=dict(augments=[
        dict(type='mmpretrain.Mixup', alpha=0.8),
        dict(type='mmpretrain.CutMix', alpha=1.0),
    ]))

lr = 5e-4 * 1024 / 256
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), eps=1e-8,
                   weight_decay=0.05),
    constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.65,
        flat_decay_mult=0.,
        custom_keys={'global_tokens': dict(decay_mult=0.)}))
max_epochs = 100
warmup_epochs = 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6 / lr, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=1e-6, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(enable=False, base_batch_size=1024)
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=True, interval=1, max_keep_ckpts=3))
log_processor = dict(by_epoch=True)
