"""ModelIdentityHook: every Runner checkpoint records its model; a
checkpoint of another model fails on test (strict) and on resume, and is a
warning for ``load_from`` in training."""
import uuid

import pytest
import torch
from mmengine.runner import CheckpointLoader, Runner
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.utils.data import DataLoader

from mmmae.utils.model_identity import (IDENTITY_KEY,
                                        WrongModelCheckpointError,
                                        add_model_check, model_identity)


def _model_cfg(prompt=True):
    return dict(
        type='MultiTaskSegmentor',
        backbone=dict(type='MultiViT', arch='tiny', out_indices=(0, 1),
                      frozen=prompt,
                      prompt=dict(type='DeepPrompt', length=2)
                      if prompt else None),
        decode_heads=dict(depth=dict(
            type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1), channels=8,
            post_process_channels=(8, 8, 8, 8), head_channels=(8, 4))))


def _collate(items):
    samples = []
    for _ in items:
        s = SegDataSample(metainfo=dict(img_shape=(32, 32),
                                        pad_shape=(32, 32)))
        s.gt_depth_map = PixelData(data=torch.rand(1, 32, 32) + 0.5)
        samples.append(s)
    return dict(inputs=dict(rgb=torch.randn(len(items), 3, 32, 32)),
                data_samples=samples)


def _runner(work_dir, prompt=True, max_iters=1, strict=False, **kwargs):
    cfg = dict(default_hooks=dict(
        checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False),
        model_identity=dict(type='ModelIdentityHook')))
    if strict:
        add_model_check(cfg)
    return Runner(
        model=_model_cfg(prompt), work_dir=str(work_dir),
        train_dataloader=DataLoader(list(range(2)), batch_size=2,
                                    collate_fn=_collate),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-3)),
        default_hooks=cfg['default_hooks'], default_scope='mmmae',
        experiment_name=uuid.uuid4().hex, **kwargs)


@pytest.fixture(scope='module')
def full_ft_ckpt(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('ft')
    runner = _runner(work_dir, prompt=False)
    runner.train()
    return str(work_dir / 'iter_1.pth'), model_identity(runner.model)


def test_checkpoints_record_the_model(full_ft_ckpt):
    path, ident = full_ft_ckpt
    meta = CheckpointLoader.load_checkpoint(path, 'cpu')['meta']
    assert meta[IDENTITY_KEY] == ident
    assert ident['prompt'] is None and ident['type'] == 'MultiTaskSegmentor'


def test_strict_load_refuses_another_model(full_ft_ckpt, tmp_path):
    """tools/test.py's path: add_model_check makes every load strict."""
    runner = _runner(tmp_path, strict=True)
    with pytest.raises(WrongModelCheckpointError,
                       match='prompt: checkpoint None, config DeepPrompt'):
        runner.load_checkpoint(full_ft_ckpt[0])


def test_resume_refuses_load_from_warns(full_ft_ckpt, tmp_path):
    runner = _runner(tmp_path / 'resume', max_iters=2,
                     load_from=full_ft_ckpt[0], resume=True)
    with pytest.raises(WrongModelCheckpointError,
                       match='is a checkpoint of another model'):
        runner.train()
    # Fine-tuning from another model's weights stays possible.
    runner = _runner(tmp_path / 'load', load_from=full_ft_ckpt[0])
    runner.train()
    assert runner.iter == 1


def test_add_model_check_sets_strict_once():
    cfg = dict(default_hooks=dict(
        model_identity=dict(type='ModelIdentityHook')), custom_hooks=[])
    add_model_check(cfg)
    assert cfg['default_hooks']['model_identity']['strict'] is True
    assert cfg['custom_hooks'] == []
    cfg = dict()
    add_model_check(cfg)
    assert cfg['custom_hooks'] == [dict(type='ModelIdentityHook',
                                        strict=True)]
