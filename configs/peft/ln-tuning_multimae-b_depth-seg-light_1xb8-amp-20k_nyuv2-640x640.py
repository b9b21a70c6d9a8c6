# LayerNorm tuning with the light heads of
# configs/prompt/mtprompt_multimae-b_depth-seg-light_1xb8-amp-20k_nyuv2-640x640.py
# (DPT reassembled to 32/64/128/128, fusion 48; ConvNeXt 64 channels, one
# block), so the whole trainable share stays a few percent.
_base_ = ['./ln-tuning_multimae-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(decode_heads=dict(
    depth=dict(post_process_channels=(32, 64, 128, 128), channels=48,
               head_channels=(32, 16)),
    semseg=dict(channels=64, num_blocks=1)))
