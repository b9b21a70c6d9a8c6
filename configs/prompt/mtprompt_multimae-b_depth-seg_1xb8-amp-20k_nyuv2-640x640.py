# Multi-task prompts on a frozen MultiMAE ViT-B/16, joint NYUv2 depth +
# semseg from rgb: 10 shared + 10 depth + 10 semseg prompt tokens per block
# (deep, VPT init, dropout 0.1), all in ONE backbone pass; each head reads
# the patch tokens plus a zero-initialised, attention-pooled view of its own
# task's prompt outputs (MultiTaskPrompt.readout). For the per-task-pass
# comparison set model.one_pass=False.
_base_ = ['./vpt-deep_multimae-b_p50_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(backbone=dict(
    prompt=dict(_delete_=True, type='MultiTaskPrompt',
                tasks=('depth', 'semseg'), shared_length=10, task_length=10,
                deep=True, dropout=0.1)))
