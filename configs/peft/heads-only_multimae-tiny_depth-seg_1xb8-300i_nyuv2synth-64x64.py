# Heads only (the dense-prediction analogue of a linear probe): the frozen,
# RANDOMLY initialised tiny backbone of the multi-task prompt config, with
# no prompt and no PEFT method; only the depth and semseg heads train. Same
# tasks, data, schedule and optimiser as
# configs/prompt/mtprompt_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py,
# so tools/analysis_tools/compare_peft.py compares like with like.
#   python tools/train.py configs/peft/heads-only_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py
_base_ = ['../prompt/mtprompt_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(prompt=None))
