# Out-of-tree prompt plugin (projects/example_prompt) on the tiny VPT-deep
# recipe: only the prompt type changes. Nothing in mmmae imports the plugin;
# ``custom_imports`` does, and the class registers itself in mmmae's MODELS.
# Run from the repository root (the tools put it on sys.path):
#   python tools/train.py projects/example_prompt/configs/scale-shift-prompt_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py
_base_ = [
    '../../../configs/prompt/'
    'vpt-deep_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py'
]

custom_imports = dict(
    imports=['projects.example_prompt.example_prompt'],
    allow_failed_imports=False)

model = dict(backbone=dict(
    prompt=dict(_delete_=True, type='ScaleShiftDeepPrompt', length=8,
                dropout=0.1)))
