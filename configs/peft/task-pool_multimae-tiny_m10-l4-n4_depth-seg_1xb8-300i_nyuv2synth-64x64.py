# Task-specific prompt pools on the frozen tiny backbone of the multi-task
# prompt config: one L2P pool per task (10 prompts of 4 tokens, top-4 by
# cosine similarity to the frozen global token, batch-wise majority vote,
# key pull loss 0.1 per pool), both tasks' selections in ONE pass, each head
# reading its own pool's prompt outputs (TaskPromptPool).
#   python tools/train.py configs/peft/task-pool_multimae-tiny_m10-l4-n4_depth-seg_1xb8-300i_nyuv2synth-64x64.py
_base_ = ['../prompt/mtprompt_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(
    prompt=dict(_delete_=True, type='TaskPromptPool',
                tasks=('depth', 'semseg'), pool_size=10, length=4, top_k=4,
                batchwise=True, pull_weight=0.1)))
