# VPT-deep with light heads, so that everything trainable stays near 2.5%
# of the model (0.46M prompts + ~1.9M heads over ~87.5M), against 25% with
# the paper heads (DPT 18.9M, ConvNeXt 9.5M):
#   DPT: reassemble to 32/64/128/128 channels, fusion at 48, regression
#        convs 32 -> 16 (0.7M instead of 18.9M);
#   ConvNeXt: 16 predictions per patch at 64 channels, one block (0.8M
#        instead of 9.5M).
_base_ = ['./vpt-deep_multimae-b_p50_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(decode_heads=dict(
    depth=dict(post_process_channels=(32, 64, 128, 128), channels=48,
               head_channels=(32, 16)),
    semseg=dict(channels=64, num_blocks=1)))
