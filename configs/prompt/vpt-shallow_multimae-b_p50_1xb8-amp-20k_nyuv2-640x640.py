# VPT-shallow (Jia et al., ECCV 2022) on a frozen MultiMAE ViT-B/16: 50
# prompt tokens inserted once, after the positional embedding, with no
# position; no prompt dropout (the VPT authors use none for shallow
# prompts, KMnP/vpt demo.ipynb). Everything else as VPT-deep.
_base_ = ['./vpt-deep_multimae-b_p50_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(backbone=dict(
    prompt=dict(_delete_=True, type='ShallowPrompt', length=50,
                dropout=0.)))
