# MultiMAE ViT-B/16, NYUv2 segmentation from depth alone (41.4 mIoU
# reported): the rgb recipe with the depth input adapter; depth is robustly
# standardised per image by the data preprocessor, as in MultiMAE. The head
# reads the depth tokens (ft_nyu_200e_multimae-b_depth.yaml:
# decoder_main_tasks: depth).
_base_ = ['./multimae_vit-b_seg-rgb_1xb8-amp-20k_nyuv2-640x640.py']
input_modalities = ('depth', )
model = dict(
    backbone=dict(input_adapters=dict(
        _delete_=True,
        depth=dict(type='PatchedInputAdapter', in_channels=1))),
    input_modalities=input_modalities,
    readout=dict(modalities=('depth', )))
train_dataloader = dict(dataset=dict(modalities=input_modalities))
val_dataloader = dict(dataset=dict(modalities=input_modalities))
test_dataloader = val_dataloader
