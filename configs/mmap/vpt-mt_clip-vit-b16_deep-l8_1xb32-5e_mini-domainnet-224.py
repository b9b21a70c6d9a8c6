# VPT-MT: VPT-deep (8 tokens, all 12 image layers, dropout 0.1) shared by
# all tasks; the text keeps 'a photo of a {}.'.
# Same data and schedule as MmAP-MT; only the prompt learner differs.
_base_ = ['./mmap-mt_clip-vit-b16_l8d12_1xb32-5e_mini-domainnet-224.py']
model = dict(
    prompt=dict(_delete_=True, type='CLIPVPTPrompt', length=8, dropout=0.1))
