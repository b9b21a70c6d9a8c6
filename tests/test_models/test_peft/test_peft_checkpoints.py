"""PEFT runs write trainable-only checkpoints that the inference API loads;
a checkpoint of one method refuses to load into another method's config."""
import pytest
import torch
from mmengine.config import Config

from mmmae.apis import init_model
from mmmae.registry import MODELS
from mmmae.utils.atomic_io import atomic_torch_save
from mmmae.utils.delta_checkpoint import (base_record, make_delta,
                                          write_frozen_base)
from mmmae.utils.model_identity import (IDENTITY_KEY,
                                        WrongModelCheckpointError,
                                        model_identity)


def _cfg(peft):
    head = dict(type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1),
                channels=8, post_process_channels=(8, 8, 8, 8),
                head_channels=(8, 4))
    return dict(type='MultiTaskSegmentor',
                backbone=dict(type='MultiViT', arch='tiny', patch_size=8,
                              img_size=32, out_indices=(0, 1), frozen=True,
                              peft=peft),
                decode_heads=dict(depth=head))


LORA = dict(type='LoRA', rank=2)


def _delta(model, folder, record=True):
    sources = write_frozen_base(model, str(folder))
    meta = {IDENTITY_KEY: model_identity(model)} if record else {}
    ckpt = make_delta(dict(state_dict=model.state_dict(), meta=meta), model,
                      base_record(model, sources))
    path = str(folder / ('delta.pth' if record else 'delta_norecord.pth'))
    atomic_torch_save(ckpt, path)
    return path, ckpt


@pytest.fixture(scope='module')
def lora_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp('lora')
    torch.manual_seed(0)
    model = MODELS.build(_cfg(LORA)).eval()
    with torch.no_grad():
        for b in model.backbone.peft.branches.values():
            b.lora_B.normal_(0, 0.05)
    return model, folder, _delta(model, folder)


def _forward(model):
    x = dict(rgb=torch.randn(1, 3, 32, 32, generator=torch.Generator()
                             .manual_seed(3)),
             depth=torch.zeros(1, 1, 32, 32))
    with torch.no_grad():
        return model.backbone(x)[1]


def test_delta_holds_lora_and_heads_only(lora_run):
    model, _, (_, ckpt) = lora_run
    params = {n for n, _ in model.named_parameters()}
    kept = {k for k in ckpt['state_dict'] if k in params}
    assert all(k.startswith(('backbone.peft.', 'decode_heads.'))
               for k in kept)
    assert any(k.startswith('backbone.peft.') for k in kept)
    assert ckpt['meta'][IDENTITY_KEY]['peft'] == 'LoRA'


def test_init_model_loads_the_delta_and_merging_keeps_outputs(lora_run):
    model, _, (path, _) = lora_run
    cfg = Config(dict(model=_cfg(LORA), default_scope='mmmae'))
    loaded = init_model(cfg, path)
    want = _forward(model)
    torch.testing.assert_close(_forward(loaded), want, rtol=0, atol=0)
    loaded.backbone.peft.merge()
    torch.testing.assert_close(_forward(loaded), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('other', [dict(type='BitFit'),
                                   dict(type='MTLoRA', tasks=('depth', ))])
def test_another_methods_config_refuses_it_naming_both(lora_run, other):
    _, _, (path, _) = lora_run
    cfg = Config(dict(model=_cfg(other), default_scope='mmmae'))
    with pytest.raises(WrongModelCheckpointError,
                       match=f'peft: checkpoint LoRA, config {other["type"]}'):
        init_model(cfg, path)


def test_without_a_record_the_missing_trained_parameters_are_named(
        lora_run):
    model, folder, _ = lora_run
    path, _ = _delta(model, folder, record=False)
    cfg = Config(dict(model=_cfg(dict(type='BitFit')), default_scope='mmmae'))
    with pytest.raises(WrongModelCheckpointError,
                       match=r'lacks \d+ parameter\(s\) the config trains'
                       r'.*backbone\.blocks\.0\.attn\.qkv\.bias'):
        init_model(cfg, path)
