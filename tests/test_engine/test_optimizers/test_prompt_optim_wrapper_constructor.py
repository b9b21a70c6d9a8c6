import logging

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS

K = 3
PROMPTS = [
    dict(type='ShallowPrompt', length=3),
    dict(type='DeepPrompt', length=3),
    dict(type='PromptPool', pool_size=4, length=2, top_k=2),
    dict(type='MultiTaskPrompt', tasks=('depth', 'semseg'), shared_length=2,
         task_length=2),
    dict(type='ModalityAwarePrompt', length=2),
]


def _model(prompt, **backbone):
    bb = dict(type='MultiViT', arch='tiny', out_indices=(0, 1), frozen=True,
              prompt=prompt, drop_path_rate=0.2)
    bb.update(backbone)
    return MODELS.build(dict(
        type='MultiTaskSegmentor', backbone=bb,
        decode_heads=dict(
            depth=dict(type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1),
                       channels=8, post_process_channels=(8, 8, 8, 8),
                       head_channels=(8, 4)),
            semseg=dict(type='ConvNeXtHead', in_channels=32, channels=8,
                        num_blocks=1, num_classes=K))))


def _batch(batch=2):
    samples = []
    for _ in range(batch):
        s = SegDataSample(metainfo=dict(img_shape=(32, 32),
                                        pad_shape=(32, 32)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, K, (1, 32, 32)))
        s.gt_depth_map = PixelData(data=torch.rand(1, 32, 32) + 0.5)
        samples.append(s)
    return dict(rgb=torch.randn(batch, 3, 32, 32),
                depth=torch.randn(batch, 1, 32, 32)), samples


def _wrapper(model, **paramwise):
    return OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='PromptOptimWrapperConstructor',
        optim_wrapper_cfg=dict(optimizer=dict(type='AdamW', lr=1e-2,
                                              weight_decay=0.05)),
        paramwise_cfg=paramwise or None))(model)


@pytest.mark.parametrize('prompt', PROMPTS, ids=lambda p: p['type'])
def test_frozen_weights_bit_identical_prompts_change(prompt):
    model = _model(prompt)
    wrapper = _wrapper(model)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters()
              if not p.requires_grad}
    prompts = {n: p.detach().clone() for n, p in model.named_parameters()
               if n.startswith('backbone.prompt.')}
    assert frozen and prompts
    model.train()
    # The frozen part (drop-path included) stays in eval mode.
    assert not model.backbone.blocks.training
    assert model.backbone.prompt.training and model.decode_heads.training
    for _ in range(2):
        wrapper.update_params(
            sum(v for k, v in model(*_batch(), mode='loss').items()
                if 'loss' in k))
    for n, before in frozen.items():
        assert torch.equal(before, dict(model.named_parameters())[n]), n
    changed = [n for n, before in prompts.items()
               if not torch.equal(before, dict(model.named_parameters())[n])]
    # Every prompt tensor the pass used moves (the biases of absent
    # modality subsets get no gradient).
    used = [n for n in prompts if 'subset_bias' not in n
            or n.endswith('rgb+depth')]
    assert set(used) <= set(changed)


def test_only_trainable_tensors_and_a_separate_prompt_lr():
    model = _model(dict(type='DeepPrompt', length=2))
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        wrapper = _wrapper(model, prompt_lr_mult=10., prompt_decay_mult=0.)
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records]
    assert not any('requires_grad' in m for m in messages)
    assert any('frozen tensors left out' in m for m in messages)
    in_optim = {id(p): g for g in wrapper.optimizer.param_groups
                for p in g['params']}
    for n, p in model.named_parameters():
        assert (id(p) in in_optim) == p.requires_grad, n
    prompt = in_optim[id(model.backbone.prompt.prompt)]
    assert prompt['lr'] == pytest.approx(0.1)
    assert prompt['weight_decay'] == 0.
    head = in_optim[id(next(model.decode_heads.parameters()))]
    assert head['lr'] == pytest.approx(1e-2)
    assert head['weight_decay'] == pytest.approx(0.05)


def test_norm_and_bias_tuning_switches():
    model = _model(dict(type='ShallowPrompt', length=2),
                   trainable_patterns=('norm', ))
    wrapper = _wrapper(model)
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert 'backbone.blocks.0.norm1.weight' in names
    assert 'backbone.blocks.0.attn.qkv.weight' not in names
    model.train()
    assert not model.backbone.blocks[0].norm1.training  # eval, but trained
    n_optim = sum(len(g['params']) for g in wrapper.optimizer.param_groups)
    assert n_optim == len(names)
    bias = _model(dict(type='ShallowPrompt', length=2),
                  trainable_patterns=(r'\.bias$', ))
    names = {n for n, p in bias.named_parameters()
             if p.requires_grad and n.startswith('backbone.blocks')}
    assert names and all(n.endswith('.bias') for n in names)
    # A pattern that matches nothing would silently train nothing extra.
    with pytest.raises(ValueError, match=r"\['nrom'\] match no parameter"):
        _model(dict(type='ShallowPrompt', length=2),
               trainable_patterns=('nrom', ))


def test_nothing_trainable_is_an_error():
    model = MODELS.build(dict(type='MultiViT', arch='tiny', frozen=True))
    with pytest.raises(ValueError, match='no trainable parameter'):
        _wrapper(model)
