# A generated separable multi-domain folder (4 domains x 4 colour classes,
# 32 px) for CPU runs of the MmAP pipeline. Create it first:
#   python tools/dataset_converters/make_toy_multidomain.py data/toy_multidomain
dataset_type = 'MultiDomainDataset'
data_root = 'data/toy_multidomain'
tasks = ['Art', 'Clipart', 'Product', 'Real_World']
class_names = ['blue', 'green', 'red', 'yellow']
meta_keys = ('sample_idx', 'img_path', 'ori_shape', 'img_shape', 'flip',
             'flip_direction', 'task')

train_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='mmpretrain.LoadImageFromFile'),
    dict(type='mmpretrain.PackInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    # infinite: iteration-based loops then never pause at epoch ends.
    sampler=dict(
        type='MultiTaskMixedSampler', shuffle=True, infinite=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        domains=tasks,
        metainfo=dict(classes=class_names),
        split='train',
        split_ratio=0.5,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        domains=tasks,
        metainfo=dict(classes=class_names),
        split='test',
        split_ratio=0.5,
        pipeline=test_pipeline))
# val == test here, for monitoring only: the toy configs select no
# checkpoint (no save_best). A config that selects on val must carve it
# from train with val_ratio, as office_home.py does (tests/test_configs.py
# checks that no config keeps a best checkpoint by its test split).
test_dataloader = val_dataloader
val_evaluator = dict(type='MultiTaskAccuracy', tasks=tasks, topk=(1, ))
test_evaluator = val_evaluator
