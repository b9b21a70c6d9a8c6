# Tiny CPU variant of l2p-pool_multimae-b_m10-l5-n5_1xb8-amp-20k_nyuv2-640x640.py:
# a pool of 10 prompts of 4 tokens, top-4 by cosine similarity to the frozen
# global token with batch-wise majority vote, key pull loss 0.1 (random
# frozen tiny backbone).
_base_ = ['./vpt-deep_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(
    prompt=dict(_delete_=True, type='PromptPool', pool_size=10, length=4,
                top_k=4, batchwise=True, pull_weight=0.1)))
