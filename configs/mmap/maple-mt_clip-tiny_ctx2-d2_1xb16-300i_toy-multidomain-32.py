# Tiny MaPLe-MT (2 tokens, depth 2, context from "a photo of a").
_base_ = ['./mmap-mt_clip-tiny_l2d2_1xb16-300i_toy-multidomain-32.py']
model = dict(
    prompt=dict(
        _delete_=True,
        type='MaPLePrompt',
        num_ctx=2,
        depth=2,
        ctx_init='a photo of a'))
