# L2P prompt pool (Wang et al., CVPR 2022) on a frozen MultiMAE ViT-B/16:
# M=10 prompts of length Lp=5 with learnable keys; the query is the frozen
# model's global token (its [CLS]); cosine top-N=5 selection with
# batch-wise majority vote (batchwise_prompt=True in both official L2P
# configs), prepended once; key pull loss -0.1 x sum of the selected keys'
# cosines / batch size (L2P's reduce_sim; logged as loss_prompt_pull). The
# query costs one extra prompt-free forward pass, as in L2P.
_base_ = ['./vpt-deep_multimae-b_p50_1xb8-amp-20k_nyuv2-640x640.py']

model = dict(backbone=dict(
    prompt=dict(_delete_=True, type='PromptPool', pool_size=10, length=5,
                top_k=5, batchwise=True, pull_weight=0.1)))
