# Tiny VPT-MT (4 deep tokens on both image layers).
_base_ = ['./mmap-mt_clip-tiny_l2d2_1xb16-300i_toy-multidomain-32.py']
model = dict(
    prompt=dict(_delete_=True, type='CLIPVPTPrompt', length=4, dropout=0.1))
