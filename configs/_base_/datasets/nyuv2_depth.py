# NYUv2 depth estimation from rgb, MultiMAE recipe (run_finetuning_depth.py,
# aug 'nyu-augs' with colour augmentation):
#   train: short side 256, flip, colour jitter (p=0.5) and grey (p=0.3)
#          with the reference's parameters, random 256 x 256 crop;
#   test:  the WHOLE test split (654 images, not the reference's 100), short
#          side 256 for the network; ground truth is loaded at the original
#          480 x 640 afterwards and predictions are resized back to it, so
#          mmseg's DepthMetric applies the standard NYU crop (rows 45:471,
#          columns 41:601) and the 1e-3..10 m valid range. (The reference
#          scores a 256 centre crop instead; the NYU crop is what published
#          NYUv2 depth numbers use.)
# Prepare the data: docs/tutorials/prepare_nyuv2.md.
dataset_type = 'NYUv2MultiTaskDataset'
data_root = 'data/nyuv2'
crop_size = (256, 256)  # (h, w)
input_modalities = ('rgb', )
train_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='MultiModalResize', scale=(4096, 256), keep_ratio=True),
    dict(type='MultiModalRandomFlip', prob=0.5),
    # The reference's A.ColorJitter(brightness=0.1255, contrast=0.4,
    # saturation=[0.5, 1.5], hue=[-0.2, 0.2], p=0.5) and A.ToGray(p=0.3):
    # factors from U(1 - x, 1 + x), hue shift from U(-0.2, 0.2) of a turn,
    # the four in random order.
    dict(type='RGBColorJitter', brightness=0.1255, contrast=0.4,
         saturation=0.5, hue=0.2, prob=0.5),
    dict(type='MultiModalRandomGrayscale', prob=0.3),
    dict(type='MultiModalRandomCrop', crop_size=crop_size),
    dict(type='PackMultiModalInputs'),
]
test_pipeline = [
    dict(type='LoadMultiModalFromFile', load_targets=False),
    dict(type='MultiModalResize', scale=(4096, 256), keep_ratio=True),
    # after the resize: ground truth stays at the original resolution
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
    dict(type='MultiModalResize', scale=(4096, 256), keep_ratio=True),
    dict(type='TestTimeAug', transforms=[
        [dict(type='MultiModalRandomFlip', prob=0.),
         dict(type='MultiModalRandomFlip', prob=1.)],
        [dict(type='LoadMultiModalFromFile', load_inputs=False)],
        [dict(type='PackMultiModalInputs')],
    ]),
]
# Used when the model config sets no data_preprocessor (mmengine's Runner
# merges a top-level data_preprocessor into the model).
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
        targets=('depth', ),
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
        targets=('depth', ),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
# depth_metrics= is left unset: it raises TypeError in mmseg (STACK.md).
val_evaluator = dict(
    type='mmseg.DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0,
    crop_type='nyu_crop')
test_evaluator = val_evaluator
