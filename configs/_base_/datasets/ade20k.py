# ADE20K (150 classes) with MultiMAE's semseg augmentation 'simple'
# (utils/datasets_semseg.py simple_transform of EPFL-VILAB/MultiMAE), in
# mmseg's transforms on mmseg's ADE20KDataset (label 0 ignored, 1..150 ->
# 0..149, as the reference's seg_reduce_zero_label):
#   train: flip, longest side 512, colour jitter (0.4, 0.4, 0.2, 0.1;
#          p=0.5), large scale jitter 0.1-2.0 of that size, pad to 512 x 512
#          at the bottom/right (image grey 128, labels ignore), random
#          512 x 512 crop;
#   test:  longest side 512; the data preprocessor pads to 512 x 512 and
#          the segmentor crops the padding off again.
# Differences (docs/transfer.md): the jitter runs on mmcv's BGR array
# (brightness/contrast/hue distributions unchanged; saturation's grey weighs
# R and B the other way round); test padding is 0 after normalisation
# (about the mean colour) instead of grey 128.
# Layout (mmseg): data/ade/ADEChallengeData2016/{images,annotations}/
# {training,validation}; mmseg's docs/en/user_guides/2_dataset_prepare.md.
dataset_type = 'mmseg.ADE20KDataset'
data_root = 'data/ade/ADEChallengeData2016'
crop_size = (512, 512)
data_preprocessor = dict(
    type='mmseg.SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmseg.LoadAnnotations', reduce_zero_label=True),
    dict(type='mmseg.RandomFlip', prob=0.5),
    dict(type='mmseg.Resize', scale=crop_size, keep_ratio=True),
    dict(type='RGBColorJitter', key='img', brightness=0.4, contrast=0.4,
         saturation=0.2, hue=0.1, prob=0.5),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.1, 2.0),
         keep_ratio=True, resize_type='mmseg.Resize'),
    dict(type='Pad', size=crop_size, pad_val=dict(img=128, seg=255)),
    dict(type='mmseg.RandomCrop', crop_size=crop_size),
    dict(type='mmseg.PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='mmseg.Resize', scale=crop_size, keep_ratio=True),
    # after the resize: labels stay at the original size
    dict(type='mmseg.LoadAnnotations', reduce_zero_label=True),
    dict(type='mmseg.PackSegInputs'),
]
# tools/test.py --tta: mmseg's ADE20K test-time augmentation (six scales of
# the test size x flip), merged by mmseg's SegTTAModel (mean softmax).
img_ratios = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
tta_model = dict(type='mmseg.SegTTAModel')
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug', transforms=[
        [dict(type='mmseg.Resize',
              scale=(int(crop_size[0] * r), int(crop_size[1] * r)),
              keep_ratio=True) for r in img_ratios],
        [dict(type='mmseg.RandomFlip', prob=0., direction='horizontal'),
         dict(type='mmseg.RandomFlip', prob=1., direction='horizontal')],
        [dict(type='mmseg.LoadAnnotations', reduce_zero_label=True)],
        [dict(type='mmseg.PackSegInputs')],
    ]),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/training',
                         seg_map_path='annotations/training'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='images/validation',
                         seg_map_path='annotations/validation'),
        pipeline=test_pipeline))
# ADE20K's test labels are not public: the validation split is the test.
test_dataloader = val_dataloader
val_evaluator = dict(type='mmseg.IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
