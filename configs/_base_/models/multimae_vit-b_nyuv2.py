# MultiMAE ViT-B/16 fine-tuned on NYUv2 (Bachmann et al., ECCV 2022): one
# backbone pass feeds a DPT depth head (taps blocks 3, 6, 9, 12; 96/192/384/
# 768 channels at strides 4/8/16/32, fusion at 256) and the ConvNeXt semseg
# adapter (16 predictions per patch, 384 channels at stride 4, 4 blocks, no
# layer scale) on the last block, both as the reference's output adapters
# (a reference fine-tuned checkpoint converts into these heads and gives the
# reference's outputs: tests/test_tools/test_model_converters.py). The heads
# read the rgb patch tokens (the reference's main_tasks default, also with
# rgb + depth input). Inputs: rgb. Leaf configs pick the inputs
# (input_modalities + the backbone's input_adapters) and drop a head with
# decode_heads=dict(<task>=None).
# The backbone starts from the converted MultiMAE checkpoint
# (tools/model_converters, keys prefixed 'backbone.').
embed_dims = 768
num_classes = 40
# (No top-level data_preprocessor: the dataset bases define one.)
model = dict(
    type='MultiTaskSegmentor',
    data_preprocessor=dict(
        type='MultiMAEDataPreprocessor',
        mean=dict(rgb=(123.675, 116.28, 103.53)),
        std=dict(rgb=(58.395, 57.12, 57.375)),
        depth_norm='robust',
        size_divisor=16,
        test_cfg=dict(size_divisor=16)),
    backbone=dict(
        type='MultiViT',
        arch='b',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.1,
        out_indices=(2, 5, 8, 11),
        input_adapters=dict(
            rgb=dict(type='PatchedInputAdapter', in_channels=3)),
        init_cfg=dict(
            type='Pretrained',
            checkpoint='pretrain/multimae-b_converted.pth',
            prefix='backbone.')),
    input_modalities=('rgb', ),
    # Which modalities' patch tokens the heads read (reference: main_tasks);
    # 'concat' stacks several along the channels, so the heads' in_channels
    # is embed_dims x len(modalities) (checked when the model is built).
    readout=dict(modalities=('rgb', ), mode='concat'),
    decode_heads=dict(
        depth=dict(
            type='MultiMAEDPTHead',
            embed_dims=embed_dims,
            in_index=(0, 1, 2, 3),
            post_process_channels=(96, 192, 384, 768),
            channels=256,
            # The reference regresses the raw value.
            depth_act='none',
            min_depth=1e-3,
            max_depth=10.0,
            loss_decode=dict(type='BerHuLoss', threshold=0.2)),
        semseg=dict(
            type='ConvNeXtHead',
            in_channels=embed_dims,
            in_index=-1,
            channels=384,
            preds_per_patch=16,
            num_blocks=4,
            layer_scale_init_value=0.,  # the reference has no layer scale
            num_classes=num_classes,
            ignore_index=255,
            loss_decode=dict(
                type='mmseg.CrossEntropyLoss', avg_non_ignore=True,
                loss_weight=1.0))),
    one_pass=True,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
# Layer-wise lr decay as in the paper (0.75); no weight decay on 1-d
# parameters (norms, biases) and the global token.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        flat_decay_mult=0.,
        custom_keys={'global_tokens': dict(decay_mult=0.)}))
