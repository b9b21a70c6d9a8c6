# ImageNet-1K classification with MultiMAE's fine-tuning augmentation
# (run_finetuning_cls.py of EPFL-VILAB/MultiMAE, through timm's
# create_transform with the script's defaults), in mmpretrain's transforms:
#   train: random resized crop to 224 (scale 0.08-1, ratio 3/4-4/3,
#          bicubic), horizontal flip, RandAugment rand-m9-mstd0.5-inc1
#          (mmpretrain's 'timm_increasing' policies: 2 ops, magnitude 9 of
#          10, std 0.5, fill = mean colour); no colour jitter (timm skips
#          it when auto-augment is on) and no random erasing (reprob 0);
#   test:  short side 256 (crop_pct 224/256, bicubic), centre crop 224.
# Mixup / CutMix and label smoothing are the model's (train_cfg.augments,
# the head's loss): configs/multimae/*_in1k-224.py.
# Layout (mmpretrain ImageNet): data/imagenet/{train,val}/<wnid>/*.JPEG,
# or the meta/ annotation files; see mmpretrain's dataset docs.
dataset_type = 'mmpretrain.ImageNet'
data_root = 'data/imagenet'
data_preprocessor = dict(
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=1000,
    # ImageNet mean and std (the reference's IMAGENET_DEFAULT_*), RGB
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)
bgr_mean = data_preprocessor['mean'][::-1]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224, backend='pillow',
         interpolation='bicubic'),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    # _scope_: its policies build AutoContrast, Rotate, ... by bare name.
    dict(type='RandAugment', _scope_='mmpretrain',
         policies='timm_increasing', num_policies=2, total_level=10,
         magnitude_level=9, magnitude_std=0.5,
         hparams=dict(pad_val=[round(x) for x in bgr_mean],
                      interpolation='bicubic')),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmpretrain.ResizeEdge', scale=256, edge='short',
         backend='pillow', interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size=224),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    batch_size=128,
    num_workers=10,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=10,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline))
# ImageNet's test labels are not public: the val split is the test split.
test_dataloader = val_dataloader
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
