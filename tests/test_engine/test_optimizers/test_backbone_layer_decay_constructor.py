"""Layer-wise lr decay for a stock mmseg EncoderDecoder on MultiViT."""
import pytest
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope

from mmmae.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS


def _model():
    init_default_scope('mmmae')
    return MODELS.build(ConfigDict(
        type='mmseg.EncoderDecoder',
        backbone=dict(type='MultiViT', arch='tiny', patch_size=8,
                      input_adapters=dict(rgb=dict(
                          type='PatchedInputAdapter', in_channels=3))),
        decode_head=dict(type='ConvNeXtHead', in_channels=32, channels=8,
                         num_blocks=1, num_classes=5, preds_per_patch=4)))


def test_lr_scales_follow_the_backbone_depths():
    model = _model()
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='BackboneLayerDecayOptimWrapperConstructor',
        optim_wrapper_cfg=dict(type='OptimWrapper', optimizer=dict(
            type='AdamW', lr=1.0, weight_decay=0.05)),
        paramwise_cfg=dict(layer_decay_rate=0.5, flat_decay_mult=0.,
                           custom_keys={'global_tokens':
                                        dict(decay_mult=0.)})))
    groups = constructor(model).optimizer.param_groups
    lr = {n: g['lr'] for g in groups for n in g.get('param_names', [])} \
        if 'param_names' in groups[0] else None
    # Tiny MultiViT: 2 blocks -> 4 layer ids; adapters 0, block i is i + 1,
    # the head the last: scale 0.5 ** (3 - id).
    scales = sorted({round(g['lr'], 6) for g in groups})
    assert scales == [0.125, 0.25, 0.5, 1.0], (scales, lr)
    decay = {g['weight_decay'] for g in groups if g['params'][0].ndim == 1}
    assert decay == {0.}


def test_model_without_depths_is_named():
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='BackboneLayerDecayOptimWrapperConstructor',
        optim_wrapper_cfg=dict(type='OptimWrapper', optimizer=dict(
            type='AdamW', lr=1.0)),
        paramwise_cfg=dict(layer_decay_rate=0.5)))
    with pytest.raises(NotImplementedError, match='Linear or its backbone'):
        constructor(nn.Linear(2, 2))
