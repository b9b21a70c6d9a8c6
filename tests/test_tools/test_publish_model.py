"""tools/misc/publish_model.py: run state stripped, sha256 in the name, a
delta checkpoint published alone or merged with its base."""
import copy
import hashlib
import os.path as osp
import pathlib
import shutil
import subprocess
import sys
import uuid

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import load_checkpoint as mmengine_load
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.utils.data import DataLoader

from mmmae.registry import MODELS
from mmmae.utils import UnsafeCheckpointError, load_checkpoint_file
from mmmae.utils.delta_checkpoint import (DELTA_KEY, BaseFileChangedError,
                                          MissingBaseCheckpointError,
                                          WrongBaseCheckpointError,
                                          frozen_parameter_names,
                                          load_checkpoint)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'publish_model.py')
MODEL = dict(
    type='MultiTaskSegmentor',
    backbone=dict(type='MultiViT', arch='tiny', out_indices=(1, ),
                  frozen=True, prompt=dict(type='ShallowPrompt', length=3)),
    decode_heads=dict(semseg=dict(type='ConvNeXtHead', in_channels=32,
                                  channels=8, num_blocks=1, num_classes=3)))


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/misc/publish_model.py')


def _batch(items):
    samples = [SegDataSample(metainfo=dict(img_shape=(32, 32)))
               for _ in items]
    for s in samples:
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 32, 32)))
    return dict(inputs=dict(rgb=torch.randn(len(items), 3, 32, 32)),
                data_samples=samples)


def _train(work_dir, seed=0, delta=True, model=MODEL):
    """Two iterations; ``meta['cfg']`` holds the model config, as a
    config-file run's checkpoints do."""
    hooks = [dict(type='DeltaCheckpointHook', save_delta=delta),
             dict(type='ModelIdentityHook')]
    runner = Runner(
        model=model, work_dir=str(work_dir),
        cfg=Config(dict(model=model, default_scope='mmmae')),
        train_dataloader=DataLoader(list(range(2)), batch_size=2,
                                    collate_fn=_batch),
        train_cfg=dict(by_epoch=False, max_iters=2),
        optim_wrapper=dict(constructor='PromptOptimWrapperConstructor',
                           optimizer=dict(type='AdamW', lr=1e-2)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2,
                                           by_epoch=False)),
        custom_hooks=hooks, randomness=dict(seed=seed),
        default_scope='mmmae', experiment_name=uuid.uuid4().hex)
    runner.train()
    state = {k: v.detach().clone()
             for k, v in runner.model.state_dict().items()}
    return str(work_dir / 'iter_2.pth'), state


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    return _train(tmp_path_factory.mktemp('publish') / 'run')


def _fresh():
    torch.manual_seed(99)
    return MODELS.build(MODEL)


def _assert_state(model, expected):
    got = model.state_dict()
    assert got.keys() == expected.keys()
    for k in expected:
        assert torch.equal(got[k], expected[k]), k


def _check_published(path, delta):
    """Only weights and meta; the name carries the content's sha256."""
    with open(path, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    assert osp.basename(path).endswith(f'-{sha[:8]}.pth')
    ckpt = load_checkpoint_file(path)
    assert set(ckpt) == {'meta', 'state_dict'}
    assert (DELTA_KEY in ckpt['meta']) == delta
    assert ckpt['meta']['mmmae_model']['type'] == 'MultiTaskSegmentor'
    return ckpt


def test_merge_writes_a_standalone_full_checkpoint(run, tmp_path, capsys,
                                                   tool):
    delta, expected = run
    assert 'optimizer' in load_checkpoint_file(delta)
    out = tool.main([delta, str(tmp_path / 'pub.pth')])
    assert osp.dirname(out) == str(tmp_path)
    ckpt = _check_published(out, delta=False)
    model = _fresh()
    assert set(frozen_parameter_names(model)) <= set(ckpt['state_dict'])
    # Needs no base: mmengine's plain strict loader takes it.
    mmengine_load(model, out, strict=True)
    _assert_state(model, expected)
    assert 'published merged delta checkpoint' in capsys.readouterr().out


def test_delta_only_keeps_the_base_reference(run, tmp_path, capsys, tool):
    delta, expected = run
    out = tool.main([delta, str(tmp_path / 'pub.pth'), '--delta-only'])
    ckpt = _check_published(out, delta=True)
    assert not set(frozen_parameter_names(_fresh())) & set(ckpt['state_dict'])
    base = ckpt['meta'][DELTA_KEY]['sources'][0]['path']
    text = capsys.readouterr().out
    assert 'needs its base' in text and base in text
    model = _fresh()
    load_checkpoint(model, out)
    _assert_state(model, expected)
    # Shipped elsewhere with its base beside it: found by name.
    moved = tmp_path / 'shipped'
    moved.mkdir()
    shutil.copy(out, moved)
    shutil.copy(base, moved)
    model = _fresh()
    load_checkpoint(model, str(moved / osp.basename(out)))
    _assert_state(model, expected)


def test_full_checkpoint_is_stripped(tmp_path, tool):
    path, expected = _train(tmp_path / 'full', delta=False)
    out = tool.main([path, str(tmp_path / 'full_pub')])
    assert osp.basename(out).startswith('full_pub-')
    _check_published(out, delta=False)
    model = _fresh()
    mmengine_load(model, out, strict=True)
    _assert_state(model, expected)
    with pytest.raises(ValueError, match='not a delta checkpoint'):
        tool.main([path, str(tmp_path / 'x.pth'), '--delta-only'])


def test_missing_or_wrong_base_is_named(run, tmp_path, tool):
    delta, _ = run
    gone = str(tmp_path / 'gone.pth')
    with pytest.raises(MissingBaseCheckpointError, match='gone.pth'):
        tool.main([delta, str(tmp_path / 'a.pth'), '--base', gone])
    record = load_checkpoint_file(delta)['meta'][DELTA_KEY]
    other, _ = _train(tmp_path / 'other', seed=1)
    wrong = next((tmp_path / 'other').glob('frozen_base-*.pth'))
    with pytest.raises(WrongBaseCheckpointError) as info:
        tool.main([delta, str(tmp_path / 'b.pth'), '--base', str(wrong)])
    assert record['fingerprint'][:12] in str(info.value)
    assert str(wrong) in str(info.value)
    assert not list(tmp_path.glob('a-*.pth')) + list(tmp_path.glob('b-*.pth'))


def test_merge_with_a_pretrained_backbone_base(tmp_path, tool):
    """The base is a pre-trained backbone file (``init_cfg``): merging needs
    the model, which the config stored in the checkpoint builds."""
    torch.manual_seed(3)
    pretrained = tmp_path / 'backbone.pth'
    backbone = MODELS.build(MODEL['backbone'])
    torch.save(dict(state_dict={k: v for k, v in backbone.state_dict().items()
                                if not k.startswith('prompt.')}), pretrained)
    model_cfg = copy.deepcopy(MODEL)
    model_cfg['backbone']['init_cfg'] = dict(type='Pretrained',
                                             checkpoint=str(pretrained))
    delta, expected = _train(tmp_path / 'run', model=model_cfg)
    assert not list((tmp_path / 'run').glob('frozen_base-*'))
    out = tool.main([delta, str(tmp_path / 'pub.pth')])
    _check_published(out, delta=False)
    model = _fresh()
    mmengine_load(model, out, strict=True)
    _assert_state(model, expected)
    # The pre-trained file changed: its recorded sha256 is named.
    sha = load_checkpoint_file(delta)['meta'][DELTA_KEY]['sources'][0][
        'sha256']
    torch.save(dict(state_dict={}), pretrained)
    with pytest.raises(BaseFileChangedError, match=f'recorded {sha[:12]}'):
        tool.main([delta, str(tmp_path / 'pub2.pth')])
    # Gone: the path tried and the expected sha256 are named.
    pretrained.unlink()
    with pytest.raises(MissingBaseCheckpointError) as info:
        tool.main([delta, str(tmp_path / 'pub3.pth')])
    assert f'"{pretrained}"' in str(info.value)
    assert f'sha256 {sha[:12]}' in str(info.value)


def test_cli_errors_are_one_line(run, tmp_path):
    not_ckpt = tmp_path / 'list.pth'
    torch.save([1, 2, 3], not_ckpt)
    proc = subprocess.run(
        [sys.executable, TOOL, str(not_ckpt), str(tmp_path / 'o.pth')],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f'ValueError: {not_ckpt} is not a model checkpoint: expected a '
        'dict with a "state_dict" entry (or a dict of tensors), got list')


def test_unsafe_checkpoint_needs_trust(run, tmp_path, tool):
    delta, _ = run
    ckpt = load_checkpoint_file(delta)
    ckpt['meta']['where'] = pathlib.PurePosixPath('/data')  # not allowlisted
    unsafe = str(tmp_path / 'unsafe.pth')
    torch.save(ckpt, unsafe)
    with pytest.raises(UnsafeCheckpointError, match='unsafe.pth'):
        tool.main([unsafe, str(tmp_path / 'u.pth'), '--delta-only'])
    assert not list(tmp_path.glob('u-*.pth'))
    out = tool.main([unsafe, str(tmp_path / 'u.pth'), '--delta-only',
                     '--trust-checkpoint'])
    assert osp.isfile(out)
