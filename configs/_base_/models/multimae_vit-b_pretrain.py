# MultiMAE ViT-B/16 pre-training model (Bachmann et al., ECCV 2022):
# rgb + depth + semseg inputs at 224 px (196 tokens each, 588 in all), 98
# visible tokens shared out by Dirichlet(1) draws, one 256-d cross-attention
# decoder (+2 self-attention blocks) per output, plus the extra norm-pix rgb
# decoder of the reference recipe (extra_norm_pix_loss). Semseg pseudo labels
# are COCO panoptic classes (133) at quarter resolution.
num_classes = 133
decoder = dict(
    type='SpatialCrossAttentionDecoder', embed_dims=256, depth=2,
    num_heads=8)
model = dict(
    type='MultiMAE',
    data_preprocessor=dict(
        type='MultiMAEDataPreprocessor',
        mean=dict(rgb=(123.675, 116.28, 103.53)),
        std=dict(rgb=(58.395, 57.12, 57.375)),
        depth_norm='robust',
        semseg_stride=4),
    backbone=dict(
        type='MultiViT',
        arch='b',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.,
        input_adapters=dict(
            rgb=dict(type='PatchedInputAdapter', in_channels=3),
            depth=dict(type='PatchedInputAdapter', in_channels=1),
            semseg=dict(
                type='SemSegInputAdapter', num_classes=num_classes,
                class_embed_dims=64))),
    masking=dict(
        type='DirichletMasking', num_encoded_tokens=98, alpha=1.0,
        sample_tasks_uniformly=False),
    decoders=dict(
        rgb=dict(decoder, out_channels=3),
        norm_rgb=dict(decoder, task='rgb', out_channels=3),
        depth=dict(decoder, out_channels=1),
        # Logits per pixel at quarter resolution (4x4 per token), kept in
        # fp32 under AMP as the reference does.
        semseg=dict(
            decoder, out_channels=num_classes, stride_level=4,
            force_fp32=True)),
    losses=dict(
        rgb=dict(type='MaskedMSELoss'),
        norm_rgb=dict(type='MaskedMSELoss', norm_pix=True),
        depth=dict(type='MaskedL1Loss'),
        semseg=dict(type='MaskedCrossEntropyLoss', ignore_index=255)))
