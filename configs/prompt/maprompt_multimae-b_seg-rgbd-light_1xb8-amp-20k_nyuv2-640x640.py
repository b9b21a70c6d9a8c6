# Modality-aware prompts with the light ConvNeXt head of
# vpt-deep_multimae-b_p50-light_1xb8-amp-20k_nyuv2-640x640.py (semseg only).
_base_ = ['./maprompt_multimae-b_seg-rgbd_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(decode_heads=dict(semseg=dict(channels=64, num_blocks=1)))
