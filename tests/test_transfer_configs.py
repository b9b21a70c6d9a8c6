"""The transfer recipes (ImageNet-1K, ADE20K, Hypersim) run: each config,
shrunk to a tiny MultiViT, trains one epoch and tests on a few tiny files in
its dataset's layout, through the Runner with every pipeline, augmentation
and optimizer setting of the config (issue 15 item 5)."""
import os.path as osp

import cv2
import numpy as np
from mmengine.config import Config

from mmmae.utils import build_runner, register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG = osp.join(REPO, 'configs', 'multimae')
TINY = dict(arch='tiny', patch_size=8, init_cfg=None)


def _img(path, shape, rng, high=256, dtype=np.uint8):
    import os
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
