# MultiMAE ViT-B/16 for the dense multi-task benchmarks (NYUD-MT,
# PASCAL-Context MT): multimae_vit-b_nyuv2.py's backbone (rgb in, the
# converted MultiMAE checkpoint) with one head per task the benchmarks
# name, each declaring its kind (mmmae/models/heads/task_kind.py):
#   semseg   ConvNeXt adapter (segmentation; num_classes per benchmark)
#   parts    ConvNeXt adapter (parts: 7 human parts, gt_parts)
#   sal      ConvNeXt adapter (saliency: 1 sigmoid channel)
#   edge     ConvNeXt adapter (boundary: 1 sigmoid channel)
#   depth    DPT (depth)
#   normals  DPT (normals: 3 channels, L2-normalised)
# Heads as MultiMAE's output adapters (ConvNeXt for per-pixel labels, DPT
# for dense regression); losses are each kind's default, the literature's
# (InvPT / TaskPrompter utils/common_config.py get_loss): CE with ignore 255
# for semseg and parts, balanced BCE with positive weight 0.95 for
# boundaries, batch-balanced BCE for saliency, L1 on normalised normals over
# valid pixels; depth keeps BerHu (the literature: L1; docs/fidelity.md).
# Leaf configs drop the heads their benchmark lacks (decode_heads.<t>=None)
# and set num_classes and task_weights. Drop path 0.15 as InvPT's and
# TaskPrompter's ViT backbones (get_backbone).
_base_ = ['./multimae_vit-b_nyuv2.py']
embed_dims = 768
convnext = dict(
    type='ConvNeXtHead',
    in_channels=embed_dims,
    in_index=-1,
    channels=384,
    preds_per_patch=16,
    num_blocks=4,
    layer_scale_init_value=0.)
model = dict(
    backbone=dict(drop_path_rate=0.15),
    decode_heads=dict(
        parts=dict(convnext, kind='parts', num_classes=7, ignore_index=255),
        sal=dict(convnext, kind='saliency'),
        edge=dict(convnext, kind='boundary'),
        normals=dict(
            type='MultiMAEDPTHead',
            kind='normals',
            embed_dims=embed_dims,
            in_index=(0, 1, 2, 3),
            post_process_channels=(96, 192, 384, 768),
            channels=256)))
# The literature's optimiser (InvPT / TaskPrompter get_optimizer: Adam,
# lr 2e-5, weight decay 1e-6, one parameter group; TaskPrompter clips the
# gradient norm at 10), in place of the NYUv2 model's layer-decayed AdamW;
# its poly schedule is ../schedules/schedule_40k_dense-mt.py.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-5, weight_decay=1e-6),
    clip_grad=dict(max_norm=10, norm_type=2))
