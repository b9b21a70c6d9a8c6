# VPT-deep plus normalisation tuning (the seed's future work): the LayerNorm
# weights and biases of every frozen block train too (``trainable_patterns``
# are regexes over backbone parameter names; (r'\.bias$', ) gives bias
# tuning instead). The frozen blocks stay in eval mode either way.
_base_ = ['./vpt-deep_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(trainable_patterns=('norm', )))
