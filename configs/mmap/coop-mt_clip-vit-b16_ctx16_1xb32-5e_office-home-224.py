# CoOp-MT: one 16-token text context shared by all tasks (CoOp, Zhou et
# al., IJCV 2022, trained on all tasks together).
# Same data and schedule as MmAP-MT; only the prompt learner differs.
_base_ = ['./mmap-mt_clip-vit-b16_l8d12_1xb32-5e_office-home-224.py']
model = dict(
    prompt=dict(_delete_=True, type='CoOpPrompt', num_ctx=16))
