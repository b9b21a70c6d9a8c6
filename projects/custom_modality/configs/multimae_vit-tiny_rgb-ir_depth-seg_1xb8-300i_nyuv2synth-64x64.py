# An out-of-tree modality (projects/custom_modality): the tiny depth + 40-class
# segmentation quickstart with an infrared channel as a second input. Nothing
# in mmmae imports the plugin; ``custom_imports`` does, which registers the
# ``infrared`` modality kind (float32 TIFF, bilinear, pad 0, standardised)
# and the dataset that finds the ir/ folder. Run from the repository root:
#   python tools/dataset_converters/synthetic_nyuv2.py --out data/nyuv2_synth
#   python projects/custom_modality/tools/make_infrared.py --data-root data/nyuv2_synth
#   python tools/train.py projects/custom_modality/configs/multimae_vit-tiny_rgb-ir_depth-seg_1xb8-300i_nyuv2synth-64x64.py
_base_ = [
    '../../../configs/multimae/'
    'multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py'
]

custom_imports = dict(
    imports=['projects.custom_modality.custom_modality'],
    allow_failed_imports=False)

input_modalities = ('rgb', 'ir')
# The modality "ir" is of kind "infrared": every stage reads the kind.
modality_kinds = dict(ir='infrared')
crop_size = (64, 64)
scale = (85, 64)  # (w, h), as the base
train_pipeline = [
    dict(type='LoadMultiModalFromFile', modality_kinds=modality_kinds),
    dict(type='MultiModalRandomResize', scale=scale, ratio_range=(1.0, 1.5)),
    dict(type='MultiModalRandomCrop', crop_size=crop_size),
    dict(type='MultiModalRandomFlip', prob=0.5),
    dict(type='PackMultiModalInputs'),
]
test_pipeline = [
    dict(type='LoadMultiModalFromFile', load_targets=False,
         modality_kinds=modality_kinds),
    dict(type='MultiModalResize', scale=scale),
    dict(type='LoadMultiModalFromFile', load_inputs=False),
    dict(type='PackMultiModalInputs'),
]
tta_pipeline = [
    dict(type='LoadMultiModalFromFile', load_targets=False,
         modality_kinds=modality_kinds),
    dict(type='TestTimeAug', transforms=[
        [dict(type='MultiModalRandomFlip', prob=0.),
         dict(type='MultiModalRandomFlip', prob=1.)],
        [dict(type='LoadMultiModalFromFile', load_inputs=False)],
        [dict(type='PackMultiModalInputs')],
    ]),
]
# NYUv2 folders plus {split}/ir/<name>.tiff (registered by the plugin).
train_dataloader = dict(dataset=dict(
    type='NYUv2ExtraModalitiesDataset', modalities=input_modalities,
    extra_modalities=dict(ir='.tiff'), pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(
    type='NYUv2ExtraModalitiesDataset', modalities=input_modalities,
    extra_modalities=dict(ir='.tiff'), pipeline=test_pipeline))
test_dataloader = val_dataloader

model = dict(
    # Normalises ir by the kind's mean/std (also read from each sample).
    data_preprocessor=dict(modality_kinds=modality_kinds),
    # ir has one channel (the kind's channels); the heads keep reading the
    # rgb tokens, which attend to the ir tokens in every block.
    backbone=dict(input_adapters=dict(
        ir=dict(type='PatchedInputAdapter', in_channels=1))),
    input_modalities=input_modalities)
