# Tiny CPU variant of vpt-shallow_multimae-b_p50_1xb8-amp-20k_nyuv2-640x640.py:
# 8 prompt tokens inserted once, no prompt dropout (random frozen tiny
# backbone, see
# vpt-deep_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py).
_base_ = ['./vpt-deep_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(
    prompt=dict(_delete_=True, type='ShallowPrompt', length=8, dropout=0.)))
