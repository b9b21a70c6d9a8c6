# Office-Home (Venkateswara et al., CVPR 2017): 4 domains = 4 tasks, 65
# classes, data_root/<domain>/<class>/<image> (the official "Real World"
# folder is found for the task Real_World). No official split: a seeded
# 80/20 train/test split per domain and class, then 10% of each domain's and
# class's train images held out as val (72/8/20 in all; MultiDomainDataset,
# docs/mmap.md). Checkpoints are selected on val; test is reported once.
dataset_type = 'OfficeHomeDataset'
data_root = 'data/office_home'
tasks = ['Art', 'Clipart', 'Product', 'Real_World']
# Sorted folder names = label order; the datasets check them on disk.
class_names = [
    'Alarm_Clock', 'Backpack', 'Batteries', 'Bed', 'Bike', 'Bottle',
    'Bucket', 'Calculator', 'Calendar', 'Candles', 'Chair', 'Clipboards',
    'Computer', 'Couch', 'Curtains', 'Desk_Lamp', 'Drill', 'Eraser',
    'Exit_Sign', 'Fan', 'File_Cabinet', 'Flipflops', 'Flowers', 'Folder',
    'Fork', 'Glasses', 'Hammer', 'Helmet', 'Kettle', 'Keyboard', 'Knives',
    'Lamp_Shade', 'Laptop', 'Marker', 'Monitor', 'Mop', 'Mouse', 'Mug',
    'Notebook', 'Oven', 'Pan', 'Paper_Clip', 'Pen', 'Pencil',
    'Postit_Notes', 'Printer', 'Push_Pin', 'Radio', 'Refrigerator', 'Ruler',
    'Scissors', 'Screwdriver', 'Shelf', 'Sink', 'Sneakers', 'Soda',
    'Speaker', 'Spoon', 'TV', 'Table', 'Telephone', 'ToothBrush', 'Toys',
    'Trash_Can', 'Webcam'
]
meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape', 'flip',
             'flip_direction', 'task')

# CLIP-style augmentation (as CoOp / MaPLe): random resized crop 224
# (scale 0.08-1, bicubic) and flip; test: short side 224, centre crop.
train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224,
         interpolation='bicubic'),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.ResizeEdge', scale=224, edge='short',
         interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size=224),
    dict(type='mmpretrain.PackInputs', meta_keys=meta_keys),
]
# The three splits share these, so train and val stay disjoint.
split_cfg = dict(
    type=dataset_type,
    data_root=data_root,
    domains=tasks,
    metainfo=dict(classes=class_names),
    split_ratio=0.8,
    split_seed=0,
    val_ratio=0.1)
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    # Every batch mixes the domains (tasks) in proportion.
    sampler=dict(type='MultiTaskMixedSampler', shuffle=True),
    dataset=dict(split_cfg, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split_cfg, split='val', pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(split_cfg, split='test', pipeline=test_pipeline))
val_evaluator = dict(type='MultiTaskAccuracy', tasks=tasks, topk=(1, ))
test_evaluator = val_evaluator
