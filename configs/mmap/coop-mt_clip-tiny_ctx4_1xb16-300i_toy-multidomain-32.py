# Tiny CoOp-MT (4 shared context tokens).
_base_ = ['./mmap-mt_clip-tiny_l2d2_1xb16-300i_toy-multidomain-32.py']
model = dict(
    prompt=dict(_delete_=True, type='CoOpPrompt', num_ctx=4))
