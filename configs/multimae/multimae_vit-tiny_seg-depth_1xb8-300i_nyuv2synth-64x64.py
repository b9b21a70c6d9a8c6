# Tiny CPU variant of multimae_vit-b_seg-depth_1xb8-amp-20k_nyuv2-640x640.py:
# segmentation from the depth input alone (robustly standardised per image).
_base_ = ['./multimae_vit-tiny_seg-rgb_1xb8-300i_nyuv2synth-64x64.py']
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
