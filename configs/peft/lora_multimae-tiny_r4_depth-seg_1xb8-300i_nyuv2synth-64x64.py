# LoRA (Hu et al., ICLR 2022) on the frozen tiny backbone of the multi-task
# prompt config: rank 4, alpha 8 (alpha / r = 2, as the ViT-B config's
# 16 / 8) on q, k, v, the attention output and both MLP layers of every
# block (mmmae/models/peft/lora.py). Same tasks, data, schedule and
# optimiser as the prompt config; backbone-side parameters get the prompts'
# lr x2.5 and no weight decay.
#   python tools/train.py configs/peft/lora_multimae-tiny_r4_depth-seg_1xb8-300i_nyuv2synth-64x64.py
_base_ = ['./heads-only_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(peft=dict(type='LoRA', rank=4, alpha=8.)))
optim_wrapper = dict(paramwise_cfg=dict(
    custom_keys={'backbone.': dict(lr_mult=2.5, decay_mult=0.)}))
