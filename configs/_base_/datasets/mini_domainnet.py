# MiniDomainNet (Zhou et al., 2021): DomainNet's clipart, painting, real
# and sketch with the 126-class subset; 4 tasks. Official split lists
# (splits_mini/<domain>_<split>.txt, lines "<domain>/<class>/<image> label")
# are used; a full DomainNet folder (345 classes) can hold the images.
# They have no val list: 10% of each domain's and class's train images are
# held out as val (seeded; MultiDomainDataset, docs/mmap.md). Checkpoints
# are selected on val; the official test lists are reported once.
dataset_type = 'MiniDomainNetDataset'
data_root = 'data/domainnet'
tasks = ['clipart', 'painting', 'real', 'sketch']
# Sorted class names = label order; the datasets check them.
class_names = [
    'The_Eiffel_Tower', 'The_Great_Wall_of_China', 'aircraft_carrier',
    'alarm_clock', 'ant', 'anvil', 'asparagus', 'axe', 'banana', 'basket',
    'bathtub', 'bear', 'bee', 'bird', 'blackberry', 'blueberry',
    'bottlecap', 'broccoli', 'bus', 'butterfly', 'cactus', 'cake',
    'calculator', 'camel', 'camera', 'candle', 'cannon', 'canoe', 'carrot',
    'castle', 'cat', 'ceiling_fan', 'cell_phone', 'cello', 'chair',
    'chandelier', 'coffee_cup', 'compass', 'computer', 'cow', 'crab',
    'crocodile', 'cruise_ship', 'dog', 'dolphin', 'dragon', 'drums', 'duck',
    'dumbbell', 'elephant', 'eyeglasses', 'feather', 'fence', 'fish',
    'flamingo', 'flower', 'foot', 'fork', 'frog', 'giraffe', 'goatee',
    'grapes', 'guitar', 'hammer', 'helicopter', 'helmet', 'horse',
    'kangaroo', 'lantern', 'laptop', 'leaf', 'lion', 'lipstick', 'lobster',
    'microphone', 'monkey', 'mosquito', 'mouse', 'mug', 'mushroom', 'onion',
    'panda', 'peanut', 'pear', 'peas', 'pencil', 'penguin', 'pig', 'pillow',
    'pineapple', 'potato', 'power_outlet', 'purse', 'rabbit', 'raccoon',
    'rhinoceros', 'rifle', 'saxophone', 'screwdriver', 'sea_turtle',
    'see_saw', 'sheep', 'shoe', 'skateboard', 'snake', 'speedboat',
    'spider', 'squirrel', 'strawberry', 'streetlight', 'string_bean',
    'submarine', 'swan', 'table', 'teapot', 'teddy-bear', 'television',
    'tiger', 'toe', 'train', 'truck', 'umbrella', 'vase', 'watermelon',
    'whale', 'zebra'
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
    split_file='splits_mini/{domain}_{split}.txt',
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
