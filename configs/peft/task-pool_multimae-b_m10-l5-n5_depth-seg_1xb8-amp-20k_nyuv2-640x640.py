# Task-specific prompt pools on a frozen MultiMAE ViT-B/16, joint NYUv2
# depth + semseg in ONE pass: one L2P pool per task, each sized as
# configs/prompt/l2p-pool_multimae-b_m10-l5-n5_1xb8-amp-20k_nyuv2-640x640.py
# (10 prompts of 5 tokens, top-5, batch-wise vote, key pull loss 0.1),
# 50 prompt tokens per task in the sequence; each head reads its own pool's
# prompt outputs (TaskPromptPool). Prompts get the prompt lr x10.
_base_ = ['../prompt/mtprompt_multimae-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(backbone=dict(
    prompt=dict(_delete_=True, type='TaskPromptPool',
                tasks=('depth', 'semseg'), pool_size=10, length=5, top_k=5,
                batchwise=True, pull_weight=0.1)))
