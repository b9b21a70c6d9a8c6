"""The transfer recipes (ImageNet-1K, ADE20K, Hypersim) run: each config,
shrunk to a tiny MultiViT, trains one epoch and tests on a few tiny files in
its dataset's layout, through the Runner with every pipeline, augmentation
and optimizer setting of the config (issue 15 item 5)."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmmae.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmmae.utils import build_runner, register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG = osp.join(REPO, 'configs', 'multimae')
TINY = dict(arch='tiny', patch_size=8, init_cfg=None)


def _img(path, shape, rng, high=256, dtype=np.uint8):
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, rng.integers(0, high, shape, dtype=dtype))


def _shrink(cfg, work_dir):
    """Tiny backbone, batch 2, no workers, one epoch."""
    cfg.model.backbone.update(TINY, img_size=32)
    cfg.work_dir = str(work_dir)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].update(batch_size=2, num_workers=0,
                        persistent_workers=False)
    cfg.train_cfg.max_epochs = 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0,
                                by_epoch=True, begin=0, end=1)]
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.optim_wrapper.pop('loss_scale', None)
    cfg.default_hooks.logger.interval = 1
    return cfg


def _run(cfg):
    register_all_modules()
    runner = build_runner(cfg)
    runner.train()
    return runner.test()


def test_in1k_recipe_runs(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / 'imagenet'
    for split in ('train', 'val'):
        lines = []
        for i in range(4):
            name = f'n{i:08d}/img_{i}.JPEG'
            _img(str(root / split / name), (40, 48, 3), rng)
            lines.append(f'{name} {i}')
        (root / 'meta').mkdir(exist_ok=True)
        (root / 'meta' / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    cfg = Config.fromfile(osp.join(
        CFG, 'multimae_vit-b_linear-head_8xb128-amp-coslr-100e_in1k-224.py'))
    cfg = _shrink(cfg, tmp_path / 'work')
    cfg.model.head.in_channels = 32
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = str(root)
    metrics = _run(cfg)
    assert 0 <= metrics['accuracy/top1'] <= 100
    assert 'accuracy/top5' in metrics


def test_ade20k_recipe_runs(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / 'ade'
    for split in ('training', 'validation'):
        for i in range(2):
            _img(str(root / 'images' / split / f'ADE_{i}.jpg'),
                 (48, 64, 3), rng)
            _img(str(root / 'annotations' / split / f'ADE_{i}.png'),
                 (48, 64), rng, high=151)
    cfg = Config.fromfile(osp.join(
        CFG, 'multimae_vit-b_convnext-head_4xb4-amp-64e_ade20k-512x512.py'))
    cfg = _shrink(cfg, tmp_path / 'work')
    cfg.model.backbone.out_indices = (1, )
    cfg.model.decode_head.update(in_channels=32, channels=8, num_blocks=1,
                                 preds_per_patch=4)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = str(root)
    metrics = _run(cfg)
    assert 0 <= metrics['mIoU'] <= 100
    # --tta as tools/test.py wires it: mmseg's SegTTAModel over the six
    # scales x flip of the config's tta_pipeline.
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    cfg.load_from = osp.join(str(tmp_path / 'work'), 'epoch_1.pth')
    runner = build_runner(cfg)
    assert type(runner.model).__name__ == 'SegTTAModel'
    assert 0 <= runner.test()['mIoU'] <= 100


def test_hypersim_recipe_runs(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / 'hypersim'
    for split in ('train', 'val'):
        for i in range(2):
            rel = osp.join('ai_001_001', f'frame.{i:04d}.png')
            _img(str(root / split / 'rgb' / rel), (48, 64, 3), rng)
            _img(str(root / split / 'semseg' / rel), (48, 64), rng, high=41)
    cfg = Config.fromfile(osp.join(
        CFG, 'multimae_vit-b_convnext-head_seg-rgb_4xb4-25e_hypersim-'
        '512x512.py'))
    cfg = _shrink(cfg, tmp_path / 'work')
    cfg.model.backbone.out_indices = (1, )
    cfg.model.decode_heads.semseg.update(in_channels=32, channels=8,
                                         num_blocks=1, preds_per_patch=4)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = str(root)
    metrics = _run(cfg)
    assert 0 <= metrics['mIoU'] <= 100


def test_in1k_recipe_is_the_reference_recipe():
    """Pooling, head init, mixup/cutmix, smoothing, layer decay and weight
    decay as run_finetuning_cls.py + ft_in1k_100e_multimae-b.yaml."""
    register_all_modules()
    init_default_scope('mmmae')
    cfg = Config.fromfile(osp.join(
        CFG, 'multimae_vit-b_linear-head_8xb128-amp-coslr-100e_in1k-224.py'))
    cfg.model.backbone.update(TINY, img_size=32)
    cfg.model.head.in_channels = 32
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    bb = model.backbone
    assert bb.out_type == 'avg_featmap' and bb.fc_norm.eps == 1e-6
    assert bb.blocks[-1].drop_path1.drop_prob == pytest.approx(0.1)
    # trunc_normal(std=0.02) x init_scale 0.001, zero bias
    fc = model.head.fc
    assert fc.weight.std().item() == pytest.approx(2e-5, rel=0.05)
    assert fc.bias.abs().max().item() == 0
    loss = model.head.loss_module
    assert loss.label_smooth_val == 0.1 and loss.mode == 'original'
    augments = model.data_preprocessor.batch_augments.augments
    assert [(type(a).__name__, a.alpha) for a in augments] == \
        [('Mixup', 0.8), ('CutMix', 1.0)]
    # lr = blr x 1024 / 256; warm-up from 1e-6, cosine to 1e-6
    lr = cfg.optim_wrapper.optimizer.lr
    assert lr == 2e-3
    warm, cos = cfg.param_scheduler
    assert warm.start_factor * lr == pytest.approx(1e-6)
    assert (warm.end, cos.eta_min, cos.end) == (5, 1e-6, 100)
    # LayerDecayValueAssigner: scale layer_decay ** (L + 1 - id), id 0 for
    # adapters and global tokens, i + 1 for block i, L + 1 otherwise; no
    # weight decay on 1-d parameters and global_tokens.
    groups = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type=cfg.optim_wrapper.constructor,
        optim_wrapper_cfg=dict(type='OptimWrapper',
                               optimizer=cfg.optim_wrapper.optimizer),
        paramwise_cfg=cfg.optim_wrapper.paramwise_cfg))(
            model).optimizer.param_groups
    by_param = {id(p): g for g in groups for p in g['params']}
    L = bb.num_layers
    for name, p in model.named_parameters():
        short = name[len('backbone.'):] if name.startswith('backbone.') \
            else name
        if short.startswith(('input_adapters', 'global_tokens')):
            layer = 0
        elif short.startswith('blocks.'):
            layer = int(short.split('.')[1]) + 1
        else:
            layer = L + 1
        g = by_param[id(p)]
        assert g['lr'] == pytest.approx(lr * 0.65 ** (L + 1 - layer)), name
        no_decay = p.ndim == 1 or 'global_tokens' in name
        assert g['weight_decay'] == (0. if no_decay else 0.05), name
