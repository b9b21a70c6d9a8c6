# MultiMAE pre-training data: an image folder with pseudo-label folders of
# matching names (e.g. ImageNet-1K with DPT depth and Mask2Former COCO
# panoptic labels, 133 classes):
#   data/multimae_pretrain/{rgb,depth,semseg}/<class>/<name>.{jpg,png}
# One random resized crop (scale 0.2-1) and flip shared by every modality at
# 224 px; semseg stays at full resolution in the pipeline and the data
# preprocessor (semseg_stride=4) samples it to 56 x 56.
dataset_type = 'MultiModalFolderDataset'
data_root = 'data/multimae_pretrain'
img_size = 224
train_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='MultiModalRandomResizedCrop', size=img_size,
         scale=(0.2, 1.0)),
    dict(type='MultiModalRandomFlip', prob=0.5),
    dict(type='PackMultiModalInputs'),
]
data_preprocessor = dict(
    type='MultiMAEDataPreprocessor', depth_norm='robust', semseg_stride=4)
train_dataloader = dict(
    batch_size=256,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        modalities=('rgb', 'depth', 'semseg'),
        reduce_zero_label=False,
        num_classes=133,
        pipeline=train_pipeline))
