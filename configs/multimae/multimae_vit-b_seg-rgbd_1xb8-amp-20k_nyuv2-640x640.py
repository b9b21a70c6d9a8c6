# MultiMAE ViT-B/16, NYUv2 segmentation from rgb + depth (56.0 mIoU
# reported), as the reference's ft_nyu_200e_multimae-b_rgb-depth.yaml: both
# input adapters, one token sequence, and the ConvNeXt head reads the rgb
# patch tokens only (the yaml's decoder_main_tasks: rgb; the readout of the
# base model config). The reference's other option, decoder_main_tasks
# rgb-depth, is readout=dict(modalities=('rgb', 'depth')) with the head's
# in_channels=2 * 768 (the two token sets concatenated along the channels).
# A reference checkpoint of this setting converts and gives the reference's
# logits: tests/test_tools/test_model_converters.py.
_base_ = ['./multimae_vit-b_seg-rgb_1xb8-amp-20k_nyuv2-640x640.py']
input_modalities = ('rgb', 'depth')
model = dict(
    backbone=dict(input_adapters=dict(
        depth=dict(type='PatchedInputAdapter', in_channels=1))),
    input_modalities=input_modalities,
    readout=dict(modalities=('rgb', ), mode='concat'))
train_dataloader = dict(dataset=dict(modalities=input_modalities))
val_dataloader = dict(dataset=dict(modalities=input_modalities))
test_dataloader = val_dataloader
