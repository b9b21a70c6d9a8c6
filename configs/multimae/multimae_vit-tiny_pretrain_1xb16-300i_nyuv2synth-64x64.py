# MultiMAE pre-training scaled down to the embedded synthetic NYUv2 data so
# that it runs on a CPU in minutes: the recipe of the ViT-B config (rgb +
# depth + semseg in and out, Dirichlet masking keeping 1/6 of the tokens,
# cross-attention decoders, masked losses, AdamW (0.9, 0.95)) with a
# 64-wide, 4-block encoder, 64 px crops and 8 px patches (an 8x8 token grid
# per modality, 192 tokens, 32 visible), and a fixed lr for 300 iterations.
#
#   python tools/dataset_converters/synthetic_nyuv2.py --out data/nyuv2_synth
#   python tools/train.py configs/multimae/multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py
_base_ = [
    '../_base_/models/multimae_vit-b_pretrain.py',
    '../_base_/datasets/multimae_pretrain_synth.py',
    '../_base_/default_runtime.py', '../_base_/default_hooks.py',
]

num_classes = 40  # NYUv2 40 classes; unlabelled (0 on disk) -> 255
crop = 64
decoder = dict(
    type='SpatialCrossAttentionDecoder', embed_dims=64, depth=2,
    num_heads=4)
model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True, embed_dims=64, depth=4, num_heads=4,
            mlp_ratio=4.),
        img_size=crop,
        patch_size=8,
        input_adapters=dict(
            semseg=dict(num_classes=num_classes, class_embed_dims=32))),
    masking=dict(num_encoded_tokens=32),
    decoders=dict(
        _delete_=True,
        rgb=dict(decoder, out_channels=3),
        norm_rgb=dict(decoder, task='rgb', out_channels=3),
        depth=dict(decoder, out_channels=1),
        semseg=dict(
            decoder, out_channels=num_classes, stride_level=4,
            force_fp32=True)))

train_dataloader = dict(batch_size=16, num_workers=2)
val_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='MultiModalResize', scale=(crop * 4, crop)),  # short side 64
    dict(type='MultiModalCenterCrop', crop_size=crop),
    dict(type='PackMultiModalInputs'),
]
# Validation draws reconstruction pictures of a few test images; masked
# reconstruction has no mmseg metric, so the evaluator is empty.
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='MultiModalFolderDataset',
        data_root='data/nyuv2_synth/test',
        modalities=('rgb', 'depth', 'semseg'),
        reduce_zero_label=True,  # NYUv2 files: 0 unlabelled, 1..40
        num_classes=num_classes,
        indices=8,
        pipeline=val_pipeline))
val_evaluator = []
val_cfg = dict(type='ValLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    # Decay on every parameter, as the reference (see the ViT-B config).
    optimizer=dict(
        type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05))
max_iters = 300
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0,
         end=30),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=30,
         end=max_iters),
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=20),
    # every 50 of the 300 iterations, so a kill loses at most 50
    checkpoint=dict(interval=50))
custom_hooks = [
    dict(type='TrainableParamsHook'),
    dict(type='ReconstructionHook', max_samples=8),
]
randomness = dict(seed=0)
# The lr above is for 1 x 16 images per step (the name's
# 1xb16); tools/train.py --auto-scale-lr rescales it linearly to
# the real total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
