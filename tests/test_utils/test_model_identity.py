"""A checkpoint of another model fails naming both models: with the
``meta['mmmae_model']`` record, and from the keys alone without it."""
import pytest
import torch
from mmengine.config import Config

from mmmae.apis import init_model
from mmmae.registry import MODELS
from mmmae.utils.model_identity import (IDENTITY_KEY,
                                        WrongModelCheckpointError,
                                        check_model_checkpoint, describe,
                                        model_identity)

SEG = 'MultiTaskSegmentor(backbone=MultiViT(embed_dims=32, depth=2), ' \
    'prompt={prompt}, heads={{depth: MultiMAEDPTHead{semseg}}})'


def _seg_cfg(prompt_length=2, frozen=True, semseg=True):
    heads = dict(depth=dict(type='MultiMAEDPTHead', embed_dims=32,
                            in_index=(0, 0, 1, 1), channels=8,
                            post_process_channels=(8, 8, 8, 8),
                            head_channels=(8, 4)))
    if semseg:
        heads['semseg'] = dict(type='ConvNeXtHead', in_channels=32,
                               channels=8, num_blocks=1, num_classes=3)
    prompt = dict(type='DeepPrompt', length=prompt_length) \
        if prompt_length else None
    return dict(type='MultiTaskSegmentor',
                backbone=dict(type='MultiViT', arch='tiny',
                              out_indices=(0, 1), frozen=frozen,
                              prompt=prompt),
                decode_heads=heads)


def _build(cfg, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(cfg)


def _clip():
    return _build(dict(
        type='MultiTaskCLIPClassifier', tasks=('a', 'b'),
        class_names=('red', 'green'),
        vision_encoder=dict(type='CLIPVisionTransformer', arch='tiny'),
        text_encoder=dict(type='CLIPTextTransformer', arch='tiny'),
        prompt=dict(type='CoOpPrompt', num_ctx=4)))


def _ckpt(model, record=True):
    meta = {IDENTITY_KEY: model_identity(model)} if record else {}
    return dict(state_dict=model.state_dict(), meta=meta)


@pytest.fixture(scope='module')
def prompt_model():
    return _build(_seg_cfg())


@pytest.fixture(scope='module')
def full_ft_model():
    return _build(_seg_cfg(prompt_length=0, frozen=False))


def test_identity_names_type_sizes_prompt_and_heads(prompt_model):
    ident = model_identity(prompt_model)
    assert ident == dict(
        type='MultiTaskSegmentor',
        backbone=dict(type='MultiViT', embed_dims=32, depth=2),
        prompt='DeepPrompt',
        heads=dict(depth='MultiMAEDPTHead', semseg='ConvNeXtHead'))
    assert describe(ident) == SEG.format(prompt='DeepPrompt',
                                         semseg=', semseg: ConvNeXtHead')
    clip = model_identity(_clip())
    assert clip['type'] == 'MultiTaskCLIPClassifier'
    assert clip['prompt'] == 'CoOpPrompt'
    assert set(clip) >= {'vision_encoder', 'text_encoder'}


def test_identity_looks_inside_a_tta_model(prompt_model):
    from mmengine.model import BaseTTAModel

    class _TTA(BaseTTAModel):

        def merge_preds(self, data_samples_list):
            return data_samples_list

    tta = _TTA(module=_build(_seg_cfg()))
    assert model_identity(tta) == model_identity(prompt_model)
    check_model_checkpoint(tta, _ckpt(prompt_model))


def test_own_checkpoint_passes(prompt_model):
    check_model_checkpoint(prompt_model, _ckpt(prompt_model))
    # A delta checkpoint: frozen keys come from the base.
    state = {n: p for n, p in prompt_model.named_parameters()
             if p.requires_grad}
    check_model_checkpoint(prompt_model, dict(state_dict=state),
                           frozen_from_base=True)
    # A config testing a subset of the heads is fine.
    depth_only = _build(_seg_cfg(semseg=False))
    check_model_checkpoint(depth_only, _ckpt(prompt_model))


@pytest.mark.parametrize('record', [True, False])
def test_full_ft_checkpoint_to_prompt_config(prompt_model, full_ft_model,
                                             record):
    with pytest.raises(WrongModelCheckpointError) as info:
        check_model_checkpoint(prompt_model, _ckpt(full_ft_model, record),
                               'ft.pth')
    msg = str(info.value)
    built = SEG.format(prompt='DeepPrompt', semseg=', semseg: ConvNeXtHead')
    assert msg.startswith('ft.pth is a checkpoint of another model')
    assert f'the config builds {built}' in msg
    if record:
        origin = SEG.format(prompt='None', semseg=', semseg: ConvNeXtHead')
        assert f'it comes from {origin}' in msg
        assert 'prompt: checkpoint None, config DeepPrompt' in msg
    else:
        # Judged from the keys: the prompts the config trains are missing.
        assert 'without an mmmae model record' in msg
        assert 'backbone (' in msg and 'decode_heads (' in msg
        assert 'lacks 1 parameter(s) the config trains or needs: ' \
            'backbone.prompt.prompt' in msg


@pytest.mark.parametrize('record', [True, False])
def test_clip_checkpoint_to_multimae_config(prompt_model, record):
    with pytest.raises(WrongModelCheckpointError) as info:
        check_model_checkpoint(prompt_model, _ckpt(_clip(), record),
                               'clip.pth')
    msg = str(info.value)
    assert 'clip.pth is a checkpoint of another model' in msg
    assert 'the config builds MultiTaskSegmentor(' in msg
    if record:
        assert 'it comes from MultiTaskCLIPClassifier(vision_encoder=' \
            'CLIPVisionTransformer(embed_dims=48, depth=2)' in msg
    else:
        assert 'vision_encoder (' in msg and 'text_encoder (' in msg


def test_prompt_of_another_shape_is_named(prompt_model):
    longer = _build(_seg_cfg(prompt_length=3))
    with pytest.raises(WrongModelCheckpointError,
                       match=r'does not fit.*differ in shape.*'
                       r'backbone\.prompt\.prompt \(2, 3, 32\) vs '
                       r'\(2, 2, 32\)'):
        check_model_checkpoint(prompt_model, _ckpt(longer))


def test_init_model_refuses_another_model(tmp_path, full_ft_model):
    path = str(tmp_path / 'ft.pth')
    torch.save(_ckpt(full_ft_model), path)
    cfg = Config(dict(model=_seg_cfg(), default_scope='mmmae'))
    with pytest.raises(WrongModelCheckpointError,
                       match=f'{path} is a checkpoint of another model'):
        init_model(cfg, path)
    ft_cfg = Config(dict(model=_seg_cfg(prompt_length=0, frozen=False),
                         default_scope='mmmae'))
    model = init_model(ft_cfg, path)
    assert torch.equal(model.backbone.global_tokens,
                       full_ft_model.backbone.global_tokens)


def test_checkpoint_from_before_the_dpt_rename_still_loads(prompt_model):
    # Checkpoints written before DPTHead became MultiMAEDPTHead record the
    # old name for the same class.
    ckpt = _ckpt(prompt_model)
    ckpt['meta']['mmmae_model']['heads']['depth'] = 'DPTHead'
    check_model_checkpoint(prompt_model, ckpt)
    ckpt['meta']['mmmae_model']['heads']['depth'] = 'ConvNeXtHead'
    with pytest.raises(WrongModelCheckpointError, match='head "depth"'):
        check_model_checkpoint(prompt_model, ckpt)
