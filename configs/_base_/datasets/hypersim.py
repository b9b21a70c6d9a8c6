# Hypersim 40-class semantic segmentation, MultiMAE recipe
# (run_finetuning_semseg.py, aug 'simple', input_size 512), in the
# reference's folder layout (mmmae HypersimDataset):
#   data/hypersim/{train,val,test}/{rgb,depth,semseg}/<scene>/<name>.png
#   train: flip, longest side 512, colour jitter (p=0.5), large scale jitter
#          0.1-2.0, pad to 512 x 512 (rgb grey 128, labels 255 = ignore,
#          depth 0 = invalid), random 512 x 512 crop;
#   test:  the val split, longest side 512; the data preprocessor pads to a
#          multiple of 16 (the reference pads to 512 x 512) and the
#          segmentor crops the padding off again.
# Label 0 (unlabelled) is ignored, classes 1..40 become 0..39.
# Inputs: rgb; for depth or rgb + depth a leaf sets modalities in every
# dataloader's dataset. The NYUv2 recipe base (nyuv2_seg.py) is the same
# 'simple' augmentation at 640 px: this file changes the dataset, the size
# and the splits.
_base_ = ['./nyuv2_seg.py']
dataset_type = 'HypersimDataset'
data_root = 'data/hypersim'
crop_size = (512, 512)  # (h, w)
train_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='MultiModalRandomFlip', prob=0.5),
    dict(type='MultiModalResize', scale=crop_size, keep_ratio=True),
    dict(type='RGBColorJitter', brightness=0.4, contrast=0.4, saturation=0.2,
         hue=0.1, prob=0.5),
    dict(type='MultiModalRandomResize', scale=None, ratio_range=(0.1, 2.0)),
    dict(type='MultiModalPad', size=crop_size, pad_val=dict(image=128)),
    dict(type='MultiModalRandomCrop', crop_size=crop_size),
    dict(type='PackMultiModalInputs'),
]
test_pipeline = [
    dict(type='LoadMultiModalFromFile', load_targets=False),
    dict(type='MultiModalResize', scale=crop_size, keep_ratio=True),
    dict(type='LoadMultiModalFromFile', load_inputs=False),
    dict(type='PackMultiModalInputs'),
]
# tools/test.py --tta: each val image also predicted horizontally flipped
# (labels loaded after the flip), merged by MultiTaskTTAModel (mean
# softmax).
tta_pipeline = [
    dict(type='LoadMultiModalFromFile', load_targets=False),
    dict(type='MultiModalResize', scale=crop_size, keep_ratio=True),
    dict(type='TestTimeAug', transforms=[
        [dict(type='MultiModalRandomFlip', prob=0.),
         dict(type='MultiModalRandomFlip', prob=1.)],
        [dict(type='LoadMultiModalFromFile', load_inputs=False)],
        [dict(type='PackMultiModalInputs')],
    ]),
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=4,
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
