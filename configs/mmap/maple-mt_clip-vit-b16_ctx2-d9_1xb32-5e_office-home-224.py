# MaPLe-MT: MaPLe (2 tokens, depth 9, Linear(512->768) couplings, context
# initialised from "a photo of a"; Khattak et al., CVPR 2023) shared by all
# tasks.
# Same data and schedule as MmAP-MT; only the prompt learner differs.
_base_ = ['./mmap-mt_clip-vit-b16_l8d12_1xb32-5e_office-home-224.py']
model = dict(
    prompt=dict(
        _delete_=True,
        type='MaPLePrompt',
        num_ctx=2,
        depth=9,
        # MaPLe's CTX_INIT: the 2 learned tokens start as "a photo" and
        # "of a" stays fixed text before each class name.
        ctx_init='a photo of a'))
