# Tiny CPU variant of multimae_vit-b_seg-rgbd_1xb8-amp-20k_nyuv2-640x640.py:
# segmentation from rgb + depth in one token sequence; the head reads the rgb
# patch tokens, as the reference's decoder_main_tasks: rgb.
_base_ = ['./multimae_vit-tiny_seg-rgb_1xb8-300i_nyuv2synth-64x64.py']
input_modalities = ('rgb', 'depth')
model = dict(
    backbone=dict(input_adapters=dict(
        depth=dict(type='PatchedInputAdapter', in_channels=1))),
    input_modalities=input_modalities,
    readout=dict(modalities=('rgb', ), mode='concat'))
train_dataloader = dict(dataset=dict(modalities=input_modalities))
val_dataloader = dict(dataset=dict(modalities=input_modalities))
test_dataloader = val_dataloader
