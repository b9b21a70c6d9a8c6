# The embedded synthetic NYUv2-format dataset (96 x 128 rooms of planes and
# boxes) for CPU runs: joint depth + semseg from rgb. Create it first (a few
# seconds; a no-op when it is already there):
#   python tools/dataset_converters/synthetic_nyuv2.py --out data/nyuv2_synth
# Train on 64 x 64 crops after a mild scale jitter (strong jitter or colour
# jitter would hide the size and shading cues that carry depth here); test on
# the whole 96 x 128 test images. DepthMetric runs without the NYU crop,
# which assumes 480 x 640 images.
dataset_type = 'NYUv2MultiTaskDataset'
data_root = 'data/nyuv2_synth'
crop_size = (64, 64)  # (h, w)
input_modalities = ('rgb', )
targets = ('depth', 'semseg')
train_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='MultiModalRandomResize', scale=None, ratio_range=(0.8, 1.25)),
    dict(type='MultiModalRandomCrop', crop_size=crop_size),
    dict(type='MultiModalRandomFlip', prob=0.5),
    dict(type='MultiModalPad', size=crop_size),
    dict(type='PackMultiModalInputs'),
]
test_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='PackMultiModalInputs'),
]
# tools/test.py --tta: each test image also predicted horizontally flipped
# (ground truth loaded after the flip), the views merged per task by
# MultiTaskTTAModel (semseg: mean softmax; depth: mean metres; normals:
# un-flipped, averaged, renormalised). A leaf that resizes in its
# test_pipeline must put the same resize here.
tta_model = dict(type='MultiTaskTTAModel')
tta_pipeline = [
    dict(type='LoadMultiModalFromFile', load_targets=False),
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
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        modalities=input_modalities,
        targets=targets,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        modalities=input_modalities,
        targets=targets,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='mmseg.IoUMetric', iou_metrics=['mIoU']),
    dict(type='mmseg.DepthMetric', min_depth_eval=1e-3, max_depth_eval=10.0),
]
test_evaluator = val_evaluator
