import os
import os.path as osp
import signal
import subprocess
import sys
import time
import uuid

import pytest
import torch
import torch.nn as nn
from mmengine.runner import CheckpointLoader, Runner
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.utils.data import DataLoader

from mmmae.registry import MODELS
from mmmae.utils.model_identity import WrongModelCheckpointError
from mmmae.utils import CorruptCheckpointError
from mmmae.utils.delta_checkpoint import (DELTA_KEY, BaseFileChangedError,
                                          MissingBaseCheckpointError,
                                          WrongBaseCheckpointError,
                                          add_delta_loading, file_sha256,
                                          fingerprint,
                                          frozen_parameter_names,
                                          is_valid_base, load_checkpoint,
                                          write_frozen_base)

K = 3


def _model_cfg(init_cfg=None, frozen=True):
    return dict(
        type='MultiTaskSegmentor',
        backbone=dict(type='MultiViT', arch='tiny', out_indices=(0, 1),
                      frozen=frozen,
                      trainable_patterns=('norm1', ) if frozen else (),
                      prompt=dict(type='DeepPrompt', length=2),
                      init_cfg=init_cfg),
        decode_heads=dict(
            depth=dict(type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1),
                       channels=8, post_process_channels=(8, 8, 8, 8),
                       head_channels=(8, 4)),
            semseg=dict(type='ConvNeXtHead', in_channels=32, channels=8,
                        num_blocks=1, num_classes=K)))


def _collate(items):
    torch.manual_seed(len(items))
    samples = []
    for _ in items:
        s = SegDataSample(metainfo=dict(img_shape=(32, 32),
                                        pad_shape=(32, 32)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, K, (1, 32, 32)))
        s.gt_depth_map = PixelData(data=torch.rand(1, 32, 32) + 0.5)
        samples.append(s)
    n = len(items)
    return dict(inputs=dict(rgb=torch.randn(n, 3, 32, 32)),
                data_samples=samples)


def _train(work_dir, init_cfg=None, seed=0, max_iters=2, frozen=True,
           resume=False):
    runner = Runner(
        model=_model_cfg(init_cfg, frozen), work_dir=str(work_dir),
        train_dataloader=DataLoader(list(range(4)), batch_size=2,
                                    collate_fn=_collate),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        optim_wrapper=dict(constructor='PromptOptimWrapperConstructor',
                           optimizer=dict(type='AdamW', lr=1e-2)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2,
                                           by_epoch=False)),
        custom_hooks=[dict(type='DeltaCheckpointHook'),
                      dict(type='TrainableParamsHook')],
        randomness=dict(seed=seed), default_scope='mmmae', resume=resume,
        experiment_name=uuid.uuid4().hex)
    runner.train()
    return runner


def _base_file(work_dir):
    """The only frozen-base file of ``work_dir``."""
    found = sorted(work_dir.glob('frozen_base-*.pth'))
    assert len(found) == 1, found
    return found[0]


def _outputs(model):
    model.eval()
    torch.manual_seed(123)
    inputs = dict(rgb=torch.randn(2, 3, 32, 32))
    with torch.no_grad():
        return model._forward(inputs)


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _fresh(seed=7, init_cfg=None):
    torch.manual_seed(seed)
    return MODELS.build(_model_cfg(init_cfg))


def test_delta_round_trip_equals_full_checkpoint(tmp_path):
    runner = _train(tmp_path / 'run')
    model = runner.model
    expected = _outputs(model)
    full = tmp_path / 'full.pth'
    torch.save(dict(state_dict=model.state_dict()), full)
    delta = tmp_path / 'run' / 'iter_2.pth'

    ckpt = CheckpointLoader.load_checkpoint(str(delta), "cpu")
    frozen = set(frozen_parameter_names(model))
    assert frozen and not frozen & set(ckpt['state_dict'])
    # Prompts, heads and the unfrozen norms are kept.
    assert 'backbone.prompt.prompt' in ckpt['state_dict']
    assert 'backbone.blocks.0.norm1.weight' in ckpt['state_dict']
    assert any(k.startswith('decode_heads.depth') for k in ckpt['state_dict'])
    record = ckpt['meta'][DELTA_KEY]
    # The base file is named after the frozen weights' fingerprint.
    base = osp.join(str(tmp_path / 'run'),
                    f'frozen_base-{record["fingerprint"][:12]}.pth')
    assert record['sources'] == [dict(path=base, prefix=None, target='',
                                      sha256=None)]
    assert record['fingerprint'] == fingerprint(model)
    assert os.path.getsize(delta) < os.path.getsize(full)

    from_delta = _fresh()
    untrained = _outputs(from_delta)
    assert not torch.equal(untrained['depth'], expected['depth'])
    load_checkpoint(from_delta, str(delta))
    from_full = _fresh(seed=8)
    load_checkpoint(from_full, str(full))
    _assert_same(_outputs(from_delta), expected)
    _assert_same(_outputs(from_full), expected)

    # The Runner path (tools/test.py, resume): the hook loads the base.
    cfg = dict(custom_hooks=[])
    add_delta_loading(cfg)
    torch.manual_seed(9)
    tester = Runner(model=_model_cfg(), work_dir=str(tmp_path / 'test'),
                    custom_hooks=cfg['custom_hooks'], default_scope='mmmae',
                    experiment_name=uuid.uuid4().hex)
    tester.load_checkpoint(str(delta))
    _assert_same(_outputs(tester.model), expected)

    # The inference API: init_model loads base + delta too.
    from mmengine.config import Config

    from mmmae.apis import init_model
    api_model = init_model(Config(dict(model=_model_cfg(),
                                       default_scope='mmmae')), str(delta))
    _assert_same(_outputs(api_model), expected)


def test_delta_without_or_with_the_wrong_base(tmp_path):
    _train(tmp_path / 'run')
    delta = str(tmp_path / 'run' / 'iter_2.pth')
    base = _base_file(tmp_path / 'run')
    # Wrong base: one frozen value differs.
    state = torch.load(base, weights_only=True)
    state['state_dict']['backbone.blocks.1.attn.qkv.weight'][0, 0] += 1e-3
    wrong = tmp_path / 'wrong.pth'
    torch.save(state, wrong)
    with pytest.raises(ValueError, match='wrong base checkpoint.*wrong.pth'):
        load_checkpoint(_fresh(), delta, base_checkpoint=str(wrong))
    # An override with the right file works.
    moved = tmp_path / 'moved.pth'
    os.rename(base, moved)
    with pytest.raises(FileNotFoundError,
                       match=r'needs its base checkpoint.*frozen_base-\w{12}'
                       r'\.pth.*--base-checkpoint'):
        load_checkpoint(_fresh(), delta)
    load_checkpoint(_fresh(), delta, base_checkpoint=str(moved))
    # The Runner path gives the same error.
    cfg = dict(custom_hooks=[])
    add_delta_loading(cfg)
    tester = Runner(model=_model_cfg(), work_dir=str(tmp_path / 'test'),
                    custom_hooks=cfg['custom_hooks'], default_scope='mmmae',
                    experiment_name=uuid.uuid4().hex)
    with pytest.raises(FileNotFoundError, match='needs its base checkpoint'):
        tester.load_checkpoint(delta)
    # init_model: the same errors, and the same override.
    from mmengine.config import Config

    from mmmae.apis import init_model
    cfg = Config(dict(model=_model_cfg(), default_scope='mmmae'))
    with pytest.raises(MissingBaseCheckpointError, match='base_checkpoint='):
        init_model(cfg, delta)
    with pytest.raises(WrongBaseCheckpointError, match='wrong base'):
        init_model(cfg, delta, base_checkpoint=str(wrong))
    init_model(cfg, delta, base_checkpoint=str(moved))
    # An override must give one path per recorded source.
    with pytest.raises(WrongBaseCheckpointError, match='1 base source'):
        load_checkpoint(_fresh(), delta,
                        base_checkpoint=[str(moved), str(moved)])


def test_tools_test_wires_delta_loading(tmp_path, load_tool):
    """tools/test.py adds the hook, passes --base-checkpoint on, and turns
    the base errors into a one-line exit message."""
    from mmengine.config import Config
    tool = load_tool('tools/test.py', 'mmmae_tools_test')
    ckpt = tmp_path / 'delta.pth'
    ckpt.write_bytes(b'')
    args = tool.parse_args(['cfg.py', str(ckpt), '--base-checkpoint',
                            'base.pth'])
    cfg = tool.merge_args(Config(dict(work_dir=str(tmp_path))), args)
    assert cfg.load_from == str(ckpt)
    # The base loader, and the model check on every load (no
    # ModelIdentityHook in this config, so one is added, strict).
    assert cfg.custom_hooks == [
        dict(type='DeltaCheckpointHook', base_checkpoint='base.pth'),
        dict(type='ModelIdentityHook', strict=True)
    ]
    for error in (MissingBaseCheckpointError, WrongBaseCheckpointError,
                  WrongModelCheckpointError):
        assert error in tool.CLEAR_ERRORS


def test_pretrained_backbone_is_the_recorded_base(tmp_path):
    torch.manual_seed(3)
    backbone = MODELS.build(_model_cfg()['backbone'])
    pretrained = tmp_path / 'backbone.pth'
    torch.save(dict(state_dict={k: v for k, v in backbone.state_dict().items()
                                if not k.startswith('prompt.')}), pretrained)
    init_cfg = dict(type='Pretrained', checkpoint=str(pretrained))
    runner = _train(tmp_path / 'run', init_cfg=init_cfg)
    assert torch.equal(runner.model.backbone.blocks[1].attn.qkv.weight,
                       backbone.blocks[1].attn.qkv.weight)
    assert not list((tmp_path / 'run').glob('frozen_base*'))
    delta = str(tmp_path / 'run' / 'iter_2.pth')
    record = CheckpointLoader.load_checkpoint(str(delta), "cpu")['meta'][DELTA_KEY]
    # The pre-trained file is referred to with the hash of its bytes.
    assert record['sources'] == [dict(path=str(pretrained), prefix=None,
                                      target='backbone',
                                      sha256=file_sha256(str(pretrained)))]
    model = _fresh(init_cfg=init_cfg)  # built, weights not initialised
    load_checkpoint(model, delta)
    _assert_same(_outputs(model), _outputs(runner.model))


def test_add_delta_loading_sets_the_override_once():
    cfg = dict(custom_hooks=[dict(type='DeltaCheckpointHook')])
    add_delta_loading(cfg, base_checkpoint='base.pth')
    assert cfg['custom_hooks'] == [dict(type='DeltaCheckpointHook',
                                        base_checkpoint='base.pth')]


def _runner_load(delta, base_checkpoint=None):
    """Load ``delta`` the way tools/test.py does; return the model."""
    cfg = dict(custom_hooks=[])
    add_delta_loading(cfg, base_checkpoint)
    torch.manual_seed(11)
    tester = Runner(model=_model_cfg(), work_dir=osp.dirname(delta),
                    custom_hooks=cfg['custom_hooks'], default_scope='mmmae',
                    experiment_name=uuid.uuid4().hex)
    tester.load_checkpoint(delta)
    return tester.model


def test_two_runs_in_one_work_dir_keep_their_bases(tmp_path):
    work_dir = tmp_path / 'run'
    first = _train(work_dir, seed=0, max_iters=2)
    expected = _outputs(first.model)
    base_a = _base_file(work_dir)
    stat_a = os.stat(base_a)
    # Another seed, other random frozen weights, same work dir.
    second = _train(work_dir, seed=1, max_iters=1)
    bases = sorted(work_dir.glob('frozen_base-*.pth'))
    assert len(bases) == 2 and base_a in bases
    after = os.stat(base_a)  # the first base was not touched
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        stat_a.st_ino, stat_a.st_mtime_ns, stat_a.st_size)
    # Both runs' checkpoints load, each on its own base.
    delta_a = str(work_dir / 'iter_2.pth')
    _assert_same(_outputs(_runner_load(delta_a)), expected)
    model = _fresh()
    load_checkpoint(model, delta_a)
    _assert_same(_outputs(model), expected)
    _assert_same(_outputs(_runner_load(str(work_dir / 'iter_1.pth'))),
                 _outputs(second.model))


def test_same_frozen_weights_reuse_the_base_unchanged(tmp_path):
    work_dir = tmp_path / 'run'
    _train(work_dir, seed=0)
    base = _base_file(work_dir)
    before = os.stat(base)
    _train(work_dir, seed=0)  # same seed: same frozen weights
    assert _base_file(work_dir) == base
    after = os.stat(base)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino,
                                                 before.st_mtime_ns)


def test_damaged_base_of_the_same_name_is_replaced(tmp_path):
    work_dir = tmp_path / 'run'
    runner = _train(work_dir, seed=0)
    expected = _outputs(runner.model)
    base = _base_file(work_dir)
    fp = CheckpointLoader.load_checkpoint(
        str(work_dir / 'iter_2.pth'), 'cpu')['meta'][DELTA_KEY]['fingerprint']
    assert is_valid_base(str(base), fp)
    os.rename(work_dir / 'iter_2.pth', tmp_path / 'kept.pth')
    base.write_bytes(b'')  # e.g. a copy that failed outside mmmae
    assert not is_valid_base(str(base), fp)
    with pytest.raises(CorruptCheckpointError, match=str(base)):
        load_checkpoint(_fresh(), str(tmp_path / 'kept.pth'))
    _train(work_dir, seed=0)  # the same frozen weights write it again
    assert is_valid_base(str(base), fp)
    model = _fresh()
    load_checkpoint(model, str(tmp_path / 'kept.pth'))
    _assert_same(_outputs(model), expected)


_KILLED_WRITER = """
import os, sys, time
import torch
import torch.nn as nn
import mmmae.utils.atomic_io as atomic_io
from mmmae.utils.delta_checkpoint import write_frozen_base
ready = sys.argv[2]

def pause(fd):  # all bytes written, not yet renamed: wait for SIGKILL
    open(ready, 'w').close()
    time.sleep(60)

atomic_io.os.fsync = pause
torch.manual_seed(0)
model = nn.Linear(16, 16).requires_grad_(False)
write_frozen_base(model, sys.argv[1])
"""


def test_kill_while_writing_the_base_leaves_no_base(tmp_path):
    """SIGKILL in the middle of the base write: no file under the final
    name (so never a 0-byte or truncated base), and the next write works."""
    folder, ready = tmp_path / 'run', tmp_path / 'ready'
    script = tmp_path / 'writer.py'
    script.write_text(_KILLED_WRITER)
    proc = subprocess.Popen([sys.executable, str(script), str(folder),
                             str(ready)])
    try:
        deadline = time.time() + 120
        while not ready.exists():
            assert proc.poll() is None and time.time() < deadline
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not list(folder.glob('frozen_base-*.pth'))
    torch.manual_seed(0)
    model = nn.Linear(16, 16).requires_grad_(False)
    source, = write_frozen_base(model, str(folder))
    assert is_valid_base(source['path'], fingerprint(model))


def _pretrained_backbone(path, seed=3):
    torch.manual_seed(seed)
    backbone = MODELS.build(_model_cfg()['backbone'])
    state = {k: v for k, v in backbone.state_dict().items()
             if not k.startswith('prompt.')}
    torch.save(dict(state_dict=state), path)
    return state


def test_changed_pretrained_file_is_refused(tmp_path):
    pretrained = tmp_path / 'backbone.pth'
    state = _pretrained_backbone(pretrained)
    init_cfg = dict(type='Pretrained', checkpoint=str(pretrained))
    runner = _train(tmp_path / 'run', init_cfg=init_cfg)
    expected = _outputs(runner.model)
    delta = str(tmp_path / 'run' / 'iter_2.pth')
    # Same weights, other bytes (e.g. re-saved with a meta): the hash
    # differs, so the recorded path is refused ...
    torch.save(dict(state_dict=state, meta=dict(note='re-saved')),
               pretrained)
    for load in (lambda: load_checkpoint(_fresh(init_cfg=init_cfg), delta),
                 lambda: _runner_load(delta)):
        with pytest.raises(BaseFileChangedError,
                           match=f'base checkpoint {pretrained} changed.*'
                           'sha256 is now'):
            load()
    # ... unless the user passes it explicitly: the fingerprint decides.
    model = _fresh(init_cfg=init_cfg)
    load_checkpoint(model, delta, base_checkpoint=str(pretrained))
    _assert_same(_outputs(model), expected)
    _assert_same(_outputs(_runner_load(delta, str(pretrained))), expected)
    # Other weights under the same name: refused either way.
    state['blocks.0.attn.qkv.weight'][0, 0] += 1.
    torch.save(dict(state_dict=state), pretrained)
    with pytest.raises(BaseFileChangedError):
        load_checkpoint(_fresh(init_cfg=init_cfg), delta)
    with pytest.raises(WrongBaseCheckpointError, match='wrong base'):
        load_checkpoint(_fresh(init_cfg=init_cfg), delta,
                        base_checkpoint=str(pretrained))


def test_resume_keeps_the_pretrained_source(tmp_path):
    pretrained = tmp_path / 'backbone.pth'
    _pretrained_backbone(pretrained)
    init_cfg = dict(type='Pretrained', checkpoint=str(pretrained))
    _train(tmp_path / 'run', init_cfg=init_cfg, max_iters=2)
    _train(tmp_path / 'run', init_cfg=init_cfg, max_iters=4, resume=True)
    assert not list((tmp_path / 'run').glob('frozen_base*'))
    record = CheckpointLoader.load_checkpoint(
        str(tmp_path / 'run' / 'iter_4.pth'), 'cpu')['meta'][DELTA_KEY]
    assert [s['path'] for s in record['sources']] == [str(pretrained)]


def test_unfrozen_prompt_model_warns_and_saves_full(tmp_path):
    with pytest.warns(UserWarning,
                      match=r'prompt \(DeepPrompt\) but no parameter is '
                      r'frozen.*\(100%\).*frozen=True'):
        runner = _train(tmp_path / 'run', frozen=False)
    assert not list((tmp_path / 'run').glob('frozen_base*'))
    ckpt = CheckpointLoader.load_checkpoint(
        str(tmp_path / 'run' / 'iter_2.pth'), 'cpu')
    assert DELTA_KEY not in ckpt['meta']
    params = {n for n, _ in runner.model.named_parameters()}
    assert params <= set(ckpt['state_dict'])


def test_copied_work_dir_finds_its_base(tmp_path):
    """The recorded base is gone, a file of its name sits next to the
    delta checkpoint (the work dir was moved): that one is used."""
    runner = _train(tmp_path / 'run')
    expected = _outputs(runner.model)
    os.rename(tmp_path / 'run', tmp_path / 'moved')
    delta = str(tmp_path / 'moved' / 'iter_2.pth')
    model = _fresh()
    load_checkpoint(model, delta)
    _assert_same(_outputs(model), expected)
    # The Runner path (tools/test.py) looks next to its load_from.
    cfg = dict(custom_hooks=[])
    add_delta_loading(cfg)
    tester = Runner(model=_model_cfg(), work_dir=str(tmp_path / 'test'),
                    load_from=delta, custom_hooks=cfg['custom_hooks'],
                    default_scope='mmmae', experiment_name=uuid.uuid4().hex)
    tester.load_or_resume()
    _assert_same(_outputs(tester.model), expected)
