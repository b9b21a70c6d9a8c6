# Heads only on a frozen MultiMAE ViT-B/16 (the dense analogue of a linear
# probe): the multi-task prompt config of
# configs/prompt/mtprompt_multimae-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py
# without its prompt; the paper heads (DPT depth, ConvNeXt semseg) train on
# the frozen features. Same tasks, data, schedule and optimiser as the
# prompt config, so tools/analysis_tools/compare_peft.py compares like with
# like. Every ViT-B PEFT config in configs/peft/ starts from this one.
_base_ = ['../prompt/mtprompt_multimae-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(backbone=dict(prompt=None))
