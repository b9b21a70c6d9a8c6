# The embedded synthetic NYUv2-format dataset with the four NYUD-MT tasks
# (semseg, depth, surface normals, boundaries) as targets of rgb; saliency
# ('sal') is there too. Generator version 2 writes the normals/edge/sal
# folders (an older folder is regenerated automatically):
#   python tools/dataset_converters/synthetic_nyuv2.py --out data/nyuv2_synth
# Pipelines only: the model config adds the heads and evaluators (one per
# task, reading gt_sem_seg, gt_depth_map, gt_normals, gt_edge). The joint
# transforms keep normals unit and turn them with a flip, and keep
# boundaries binary (mmmae/datasets/transforms/_fields.py).
dataset_type = 'NYUv2MultiTaskDataset'
data_root = 'data/nyuv2_synth'
crop_size = (64, 64)  # (h, w)
input_modalities = ('rgb', )
targets = ('semseg', 'depth', 'normals', 'edge')
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
data_preprocessor = dict(
    type='MultiModalDataPreprocessor', size_divisor=16,
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
