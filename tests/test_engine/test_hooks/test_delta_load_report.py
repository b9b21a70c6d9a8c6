"""Loading a delta checkpoint logs one line saying what came from the delta
and what from its base, instead of mmengine's missing-keys warning; tensors
in neither are still reported (issue 16, item 5, last point)."""
import contextlib
import logging
import re
import uuid

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.runner import CheckpointLoader, Runner
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.utils.data import DataLoader

from mmmae.registry import MODELS
from mmmae.utils.delta_checkpoint import (frozen_parameter_names,
                                          load_checkpoint)

K = 3
LINE = re.compile(r'loaded delta checkpoint (\S+): (\d+) tensors \(([\d,]+) '
                  r'params\) from the delta, (\d+) tensors from (\w+) (\S+)')


def _model_cfg(init_cfg=None):
    return dict(
        type='MultiTaskSegmentor',
        backbone=dict(type='MultiViT', arch='tiny', out_indices=(0, 1),
                      frozen=True, trainable_patterns=('norm1', ),
                      prompt=dict(type='DeepPrompt', length=2),
                      init_cfg=init_cfg),
        decode_heads=dict(
            semseg=dict(type='ConvNeXtHead', in_channels=32, channels=8,
                        num_blocks=1, num_classes=K)))


def _collate(items):
    samples = []
    for _ in items:
        s = SegDataSample(metainfo=dict(img_shape=(32, 32),
                                        pad_shape=(32, 32)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, K, (1, 32, 32)))
        samples.append(s)
    return dict(inputs=dict(rgb=torch.randn(len(items), 3, 32, 32)),
                data_samples=samples)


def _runner(work_dir, init_cfg=None, load_from=None, seed=0):
    return Runner(
        model=_model_cfg(init_cfg), work_dir=str(work_dir),
        train_dataloader=DataLoader(list(range(4)), batch_size=2,
                                    collate_fn=_collate),
        train_cfg=dict(by_epoch=False, max_iters=2),
        optim_wrapper=dict(constructor='PromptOptimWrapperConstructor',
                           optimizer=dict(type='AdamW', lr=1e-2)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2,
                                           by_epoch=False)),
        custom_hooks=[dict(type='DeltaCheckpointHook')], load_from=load_from,
        randomness=dict(seed=seed), default_scope='mmmae',
        experiment_name=uuid.uuid4().hex)


@contextlib.contextmanager
def _captured():
    """Records of the current mmengine logger (the Runner's, once built)."""
    records = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def _text(records, level=logging.DEBUG):
    return '\n'.join(r.getMessage() for r in records if r.levelno >= level)


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A 2-iteration prompt run on a random frozen backbone."""
    work = tmp_path_factory.mktemp('delta_load')
    runner = _runner(work)
    runner.train()
    return work, _params(runner.model), runner.model


def test_runner_load_logs_one_line_not_missing_keys(trained, tmp_path):
    work, expected, trained_model = trained
    delta = str(work / 'iter_2.pth')
    state = CheckpointLoader.load_checkpoint(delta, 'cpu')['state_dict']
    runner = _runner(tmp_path / 'test', load_from=delta, seed=5)
    with _captured() as records:
        runner.load_or_resume()
    text = _text(records)
    assert 'missing keys' not in text
    assert 'do not match exactly' not in text
    lines = [m for m in map(LINE.search, text.splitlines()) if m]
    assert len(lines) == 1, text
    name, n_delta, n_params, n_base, kind, base = lines[0].groups()
    model = runner.model
    frozen = frozen_parameter_names(model)
    params = dict(model.named_parameters())
    assert name == delta and kind == 'base'
    assert re.fullmatch(r'.*/frozen_base-\w{12}\.pth', base)
    assert int(n_delta) == len(state)
    assert int(n_params.replace(',', '')) == sum(
        v.numel() for k, v in state.items() if k in params)
    assert int(n_base) == len(frozen) > 0
    # An INFO line: nothing is wrong.
    assert not _text(records, logging.WARNING)
    got = _params(model)
    assert got.keys() == expected.keys()
    for k in expected:
        assert torch.equal(got[k], expected[k]), k


def test_tensor_in_neither_delta_nor_base_is_still_reported(trained,
                                                            tmp_path):
    work, _, _ = trained
    ckpt = CheckpointLoader.load_checkpoint(str(work / 'iter_2.pth'), 'cpu')
    lost = 'decode_heads.semseg.conv_seg.bias'
    del ckpt['state_dict'][lost]
    broken = str(tmp_path / 'broken.pth')
    torch.save(ckpt, broken)
    # The Runner path (tools/test.py, resume).
    runner = _runner(tmp_path / 'test', load_from=broken)
    with _captured() as records:
        runner.load_or_resume()
    warned = _text(records, logging.WARNING)
    assert '1 tensor(s) in neither the delta nor its base keep their ' \
        f'initial values: {lost}' in warned
    # init_model's path; strict=True refuses it.
    torch.manual_seed(1)
    model = MODELS.build(_model_cfg())
    with _captured() as records:
        load_checkpoint(model, broken, check_model=False)
    assert f'in neither the delta nor its base keep their initial values: ' \
        f'{lost}' in _text(records, logging.WARNING)
    assert 'do not match exactly' not in _text(records)
    with pytest.raises(RuntimeError, match=lost):
        load_checkpoint(MODELS.build(_model_cfg()), broken, check_model=False,
                        strict=True)


def test_pretrained_base_is_named_in_the_line(tmp_path):
    torch.manual_seed(3)
    backbone = MODELS.build(_model_cfg()['backbone'])
    pretrained = str(tmp_path / 'backbone.pth')
    torch.save(dict(state_dict={k: v for k, v in backbone.state_dict().items()
                                if not k.startswith('prompt.')}), pretrained)
    init_cfg = dict(type='Pretrained', checkpoint=pretrained)
    runner = _runner(tmp_path / 'run', init_cfg=init_cfg)
    runner.train()
    expected = _params(runner.model)
    torch.manual_seed(9)
    model = MODELS.build(_model_cfg(init_cfg))  # weights not initialised
    delta = str(tmp_path / 'run' / 'iter_2.pth')
    with _captured() as records:
        load_checkpoint(model, delta)
    text = _text(records)
    assert 'missing keys' not in text and 'do not match' not in text
    match = LINE.search(text)
    assert match, text
    assert match.group(5) == 'pretrained' and match.group(6) == pretrained
    assert f'pretrained {pretrained} into backbone' in text
    assert int(match.group(4)) == len(frozen_parameter_names(model))
    got = _params(model)
    for k in expected:
        assert torch.equal(got[k], expected[k]), k
