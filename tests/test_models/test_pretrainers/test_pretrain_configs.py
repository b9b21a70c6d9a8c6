import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmmae.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
VIT_B = osp.join(ROOT, 'configs/multimae/'
                 'multimae_vit-b_pretrain_8xb256-amp-1600e_in1k-224.py')
TINY = osp.join(ROOT, 'configs/multimae/'
                'multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py')


def test_vit_b_recipe_matches_the_paper():
    cfg = Config.fromfile(VIT_B)
    assert cfg.model.masking.num_encoded_tokens == 98
    opt = cfg.optim_wrapper.optimizer
    # base lr 1e-4 per 256 images, as 8e-4 for the 8 x 256 of the name.
    assert (opt.type, opt.lr, opt.betas, opt.weight_decay) == (
        'AdamW', 8e-4, (0.9, 0.95), 0.05)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=2048)
    assert opt.lr * 256 / cfg.auto_scale_lr.base_batch_size == 1e-4
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.param_scheduler[0].end == 40
    assert cfg.train_cfg.max_epochs == 1600
    model = MODELS.build(cfg.model)
    backbone = sum(p.numel() for p in model.backbone.parameters())
    # ViT-B/16 blocks + 3 adapters + global token.
    assert 86e6 < backbone < 87.5e6
    assert set(model.decoders) == {'rgb', 'norm_rgb', 'depth', 'semseg'}
    assert model.decoders['semseg'].out_channels == 133


def test_tiny_config_builds_and_computes_a_loss():
    cfg = Config.fromfile(TINY)
    model = MODELS.build(cfg.model)
    B = 2
    inputs = dict(rgb=torch.randn(B, 3, 64, 64),
                  depth=torch.randn(B, 1, 64, 64),
                  semseg=torch.randint(0, 40, (B, 16, 16)))
    losses = model(inputs, mode='loss')
    assert set(losses) == {'loss_rgb', 'loss_norm_rgb', 'loss_depth',
                           'loss_semseg'}
    enc = model.encode_masked(inputs)
    assert enc['tokens'].shape == (B, 32 + 1, 64)  # 32 of 192 visible


@pytest.mark.slow
def test_tiny_pretraining_loss_falls_on_synthetic_data(tmp_path):
    """~100 Runner iterations on generated data: the loss must fall and
    validation must write reconstruction pictures."""
    from mmengine.runner import Runner

    from mmmae.datasets import generate_synthetic_nyuv2
    data = tmp_path / 'nyuv2_synth'
    generate_synthetic_nyuv2(str(data), num_train=64, num_test=8)
    cfg = Config.fromfile(TINY)
    iters = 100
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_dataloader.batch_size = 8
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_dataloader.dataset.data_root = str(data / 'train')
    cfg.val_dataloader.num_workers = 0
    cfg.val_dataloader.dataset.data_root = str(data / 'test')
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.param_scheduler[1].end = iters
    cfg.default_hooks.checkpoint.interval = iters
    cfg.default_hooks.logger.interval = 10
    runner = Runner.from_cfg(cfg)
    runner.train()
    history = runner.message_hub.get_scalar('train/loss')._log_history
    assert len(history) == iters
    first, last = history[:10].mean(), history[-10:].mean()
    assert last < 0.75 * first, (first, last)
    for key in ('loss_rgb', 'loss_depth', 'loss_semseg'):
        h = runner.message_hub.get_scalar(f'train/{key}')._log_history
        assert h[-10:].mean() < h[:10].mean(), key
    pictures = osp.join(runner.log_dir, 'reconstructions', f'iter_{iters}')
    assert len(os.listdir(pictures)) == 8


def _decay_by_name(model, optim_wrapper_cfg):
    from mmengine.optim import build_optim_wrapper
    cfg = dict(optim_wrapper_cfg, type='OptimWrapper')  # AMP needs a GPU
    cfg.pop('loss_scale', None)
    wrapper = build_optim_wrapper(model, cfg)
    by_id = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            by_id[id(p)] = group['weight_decay']
    return {n: by_id[id(p)] for n, p in model.named_parameters()
            if p.requires_grad}


@pytest.mark.parametrize('path', [VIT_B, TINY])
def test_every_parameter_decays_as_the_reference(path):
    """The reference's run_pretraining_multimae.py passes a
    {'model', 'balancer'} dict to create_optimizer, whose branch puts every
    trainable parameter (norms, biases, tokens too) at weight decay 0.05."""
    cfg = Config.fromfile(path)
    model = MODELS.build(Config.fromfile(TINY).model)
    decay = _decay_by_name(model, cfg.optim_wrapper)
    assert len(decay) == len(list(model.parameters()))
    assert set(decay.values()) == {0.05}, {
        n: d for n, d in decay.items() if d != 0.05}
    for name in ('backbone.global_tokens', 'backbone.blocks.0.norm1.weight',
                 'backbone.blocks.0.attn.qkv.bias',
                 'decoders.rgb.mask_token'):
        assert decay[name] == 0.05


def test_no_decay_option_exempts_norms_biases_and_tokens():
    cfg = Config.fromfile(VIT_B)
    model = MODELS.build(Config.fromfile(TINY).model)
    optim_cfg = dict(cfg.optim_wrapper,
                     paramwise_cfg=cfg.no_decay_on_norms_and_tokens)
    decay = _decay_by_name(model, optim_cfg)
    for name in ('backbone.global_tokens', 'backbone.blocks.0.norm1.weight',
                 'backbone.blocks.0.attn.qkv.bias',
                 'decoders.rgb.mask_token',
                 'decoders.rgb.task_embeddings.depth'):
        assert decay[name] == 0., name
    assert decay['backbone.blocks.0.attn.qkv.weight'] == 0.05
