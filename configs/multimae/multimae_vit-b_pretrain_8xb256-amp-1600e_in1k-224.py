# MultiMAE ViT-B/16 pre-training, the paper's recipe: ImageNet-1K with depth
# (DPT-Hybrid/Omnidata) and semseg (Mask2Former, COCO 133 classes) pseudo
# labels, 224 px random resized crop (0.2-1) and flip shared by all
# modalities, 98 visible tokens of 588, AdamW (0.9, 0.95), weight decay 0.05
# on every parameter, lr 1e-4 x total batch / 256 (8e-4 at 8 x 256;
# auto_scale_lr), 40 warm-up epochs then cosine to 0, 1600 epochs, AMP.
#
#   bash tools/dist_train.sh configs/multimae/multimae_vit-b_pretrain_8xb256-amp-1600e_in1k-224.py 8
_base_ = [
    '../_base_/models/multimae_vit-b_pretrain.py',
    '../_base_/datasets/multimae_pretrain_folder.py',
    '../_base_/default_runtime.py', '../_base_/default_hooks.py',
]

# data/multimae_pretrain/{rgb,depth,semseg}/ (see the dataset base). Epochs
# need a finite sampler.
train_dataloader = dict(
    batch_size=256,
    num_workers=10,
    pin_memory=True,
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True))

max_epochs = 1600
warmup_epochs = 40
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    # Weight decay 0.05 on every trainable parameter, norms, biases and
    # tokens included, as the reference: run_pretraining_multimae.py hands
    # create_optimizer a {'model', 'balancer'} dict, whose branch puts all
    # parameters in groups at args.weight_decay and never consults
    # no_weight_decay(). The fixed sin-cos tables are buffers (the
    # reference's are frozen), so nothing decays them.
    optimizer=dict(
        type='AdamW', lr=8e-4, betas=(0.9, 0.95), weight_decay=0.05))
# Option, not the reference: exempt norms, biases, tokens and embeddings
# from decay as MAE-style recipes do. Enable with
#   optim_wrapper = dict(paramwise_cfg=no_decay_on_norms_and_tokens)
no_decay_on_norms_and_tokens = dict(
    norm_decay_mult=0.,
    bias_decay_mult=0.,
    custom_keys={
        'global_tokens': dict(decay_mult=0.),
        'mask_token': dict(decay_mult=0.),
        'task_embeddings': dict(decay_mult=0.),
        'class_emb': dict(decay_mult=0.),
    })
# lr = 1e-4 x (GPUs x batch) / 256: 8e-4 for the 8 x 256 of the name, and
# scaled to the real total batch by mmengine (enable=True, as the reference
# always applies its rule).
auto_scale_lr = dict(enable=True, base_batch_size=2048)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0,
        end=warmup_epochs, convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR', eta_min=0., by_epoch=True,
        begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
val_dataloader = None
val_cfg = None
val_evaluator = None
default_hooks = dict(
    logger=dict(interval=100),
    checkpoint=dict(by_epoch=True, interval=20, max_keep_ckpts=3))
randomness = dict(seed=0, diff_rank_seed=True)
