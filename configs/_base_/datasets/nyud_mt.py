# NYUD-MT (795 train / 654 val; semseg 40 classes, depth, normals,
# boundaries) in the NYUD_MT folder of Multi-Task-Learning-PyTorch / ATRC /
# InvPT (docs/multi_task_dense.md, "Datasets"), at the literature's
# 448 x 576. Pipelines follow InvPT's get_transformations (from ATRC):
# random scaling in [0.5, 2.0], a 448 x 576 crop with cat_max_ratio 0.75,
# horizontal flip, photometric distortion, pad to 448 x 576 with ignore
# values. Differences: the colour jitter is RGBColorJitter (not mmseg's
# PhotoMetricDistortion), normals are resized bilinearly and renormalised
# (InvPT: nearest), and padding goes bottom/right (InvPT: centred).
# Pipelines only: the model config adds the heads and evaluators.
dataset_type = 'NYUDMTDataset'
data_root = 'data/NYUD_MT'
crop_size = (448, 576)  # (h, w)
tasks = ('semseg', 'depth', 'normals', 'edge')
train_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='MultiModalRandomResize', scale=None, ratio_range=(0.5, 2.0)),
    dict(type='MultiModalRandomCrop', crop_size=crop_size,
         cat_max_ratio=0.75),
    dict(type='MultiModalRandomFlip', prob=0.5),
    dict(type='RGBColorJitter'),
    dict(type='MultiModalPad', size=crop_size),
    dict(type='PackMultiModalInputs'),
]
test_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='PackMultiModalInputs'),
]
data_preprocessor = dict(
    type='MultiMAEDataPreprocessor', size_divisor=16,
    test_cfg=dict(size_divisor=16))
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        tasks=tasks,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        tasks=tasks,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
