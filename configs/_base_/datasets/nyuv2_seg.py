# NYUv2 40-class semantic segmentation, MultiMAE recipe
# (run_finetuning_semseg.py, aug 'simple'):
#   train: flip, long side 640, colour jitter (p=0.5), large scale jitter
#          0.1-2.0, pad to 640 x 640 (rgb grey 128 as the reference, labels
#          255 = ignore, depth 0 = invalid), random 640 x 640 crop;
#   test:  the WHOLE test split at 640 x 480; the data preprocessor pads to a
#          multiple of 16 and the segmentor crops the padding off again.
# Label 0 (unlabelled) is ignored (255), classes 1..40 become 0..39.
# Inputs: rgb by default; for depth or rgb+depth inputs a leaf config sets
# modalities=('depth',) / ('rgb', 'depth') in every dataloader's dataset.
dataset_type = 'NYUv2MultiTaskDataset'
data_root = 'data/nyuv2'
crop_size = (640, 640)  # (h, w)
input_modalities = ('rgb', )
train_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='MultiModalRandomFlip', prob=0.5),
    dict(type='MultiModalResize', scale=(640, 640), keep_ratio=True),
    dict(type='RGBColorJitter', brightness=0.4, contrast=0.4, saturation=0.2,
         hue=0.1, prob=0.5),
    dict(type='MultiModalRandomResize', scale=None, ratio_range=(0.1, 2.0)),
    dict(type='MultiModalPad', size=crop_size, pad_val=dict(image=128)),
    dict(type='MultiModalRandomCrop', crop_size=crop_size),
    dict(type='PackMultiModalInputs'),
]
test_pipeline = [
    dict(type='LoadMultiModalFromFile', load_targets=False),
    dict(type='MultiModalResize', scale=(640, 640), keep_ratio=True),
    dict(type='LoadMultiModalFromFile', load_inputs=False),
    dict(type='PackMultiModalInputs'),
]
# tools/test.py --tta: each test image also predicted horizontally flipped
# (ground truth loaded after the flip, so never flipped), the two views
# merged per task by MultiTaskTTAModel (semseg: mean softmax; depth: mean
# metres). Flip only, no extra scales: a monocular depth model's metres
# change with the input scale.
tta_model = dict(type='MultiTaskTTAModel')
tta_pipeline = [
    dict(type='LoadMultiModalFromFile', load_targets=False),
    dict(type='MultiModalResize', scale=(640, 640), keep_ratio=True),
    dict(type='TestTimeAug', transforms=[
        [dict(type='MultiModalRandomFlip', prob=0.),
         dict(type='MultiModalRandomFlip', prob=1.)],
        [dict(type='LoadMultiModalFromFile', load_inputs=False)],
        [dict(type='PackMultiModalInputs')],
    ]),
]
data_preprocessor = dict(
    type='MultiMAEDataPreprocessor', size_divisor=16,
    test_cfg=dict(size_divisor=16))
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        modalities=input_modalities,
        targets=('semseg', ),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        modalities=input_modalities,
        targets=('semseg', ),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='mmseg.IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
