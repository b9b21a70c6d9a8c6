# Multi-task prompts with the light heads of
# vpt-deep_multimae-b_p50-light_1xb8-amp-20k_nyuv2-640x640.py.
_base_ = ['./mtprompt_multimae-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(decode_heads=dict(
    depth=dict(post_process_channels=(32, 64, 128, 128), channels=48,
               head_channels=(32, 16)),
    semseg=dict(channels=64, num_blocks=1)))
