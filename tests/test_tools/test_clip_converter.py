"""tools/model_converters/clip2mmmae.py: OpenAI/open_clip -> mmmae CLIP."""
import json

import pytest
import torch

from mmmae.models.backbones.clip import CLIPTokenizer
from mmmae.registry import MODELS


@pytest.fixture(scope='module')
def conv(load_tool):
    return load_tool('tools/model_converters/clip2mmmae.py')


def open_clip_tiny(width=48, quick_gelu=True):
    """A random open_clip CLIP with OpenAI's key names (QuickGELU by
    default, as OpenAI's weights; GELU as most open_clip weights)."""
    import open_clip
    torch.manual_seed(0)
    return open_clip.model.CLIP(
        embed_dim=16,
        vision_cfg=dict(layers=2, width=width, patch_size=8, image_size=32,
                        head_width=width // 2),
        text_cfg=dict(context_length=77, vocab_size=49408, width=32,
                      heads=2, layers=2),
        quick_gelu=quick_gelu).eval()


def classifier(init_cfg=None, act='quick_gelu'):
    return MODELS.build(dict(
        type='MultiTaskCLIPClassifier', tasks=('a', ), class_names=('x', ),
        vision_encoder=dict(type='CLIPVisionTransformer', arch='tiny',
                            act=act),
        text_encoder=dict(type='CLIPTextTransformer', arch='tiny', act=act),
        init_cfg=init_cfg))


def torchscript(model, path):
    traced = torch.jit.trace(model, (torch.randn(1, 3, 32, 32),
                                     torch.zeros(1, 77, dtype=torch.long)),
                             strict=False, check_trace=False)
    torch.jit.save(traced, path)


def test_converted_weights_reproduce_open_clip(tmp_path, conv):
    ref = open_clip_tiny()
    src = str(tmp_path / 'openclip.pth')
    torch.save(ref.state_dict(), src)
    dst = str(tmp_path / 'mmmae.pth')
    conv.convert_file(src, dst, vision_arch='tiny', text_arch='tiny',
                      act='quick_gelu')
    model = classifier(dict(type='Pretrained', checkpoint=dst))
    model.init_weights()
    img = torch.randn(2, 3, 32, 32)
    ids = CLIPTokenizer()(['a photo of a dog.', 'red'])
    with torch.no_grad():
        assert torch.allclose(model.vision_encoder(img),
                              ref.encode_image(img), atol=1e-5)
        assert torch.allclose(model.text_encoder(ids), ref.encode_text(ids),
                              atol=1e-5)
    assert torch.equal(model.logit_scale, ref.logit_scale)


def test_torchscript_archive_like_openai(tmp_path, conv):
    ref = open_clip_tiny()
    path = str(tmp_path / 'ViT-tiny.pt')
    torchscript(ref, path)
    sd = conv.convert_clip_state_dict(conv.load_clip_file(path))
    assert torch.equal(sd['vision_encoder.blocks.1.attn.qkv.weight'],
                       ref.visual.transformer.resblocks[1].attn
                       .in_proj_weight)
    conv.check_against_towers(sd, 'tiny', 'tiny')


def test_checkpoint_of_another_width(tmp_path, conv):
    src = str(tmp_path / 'wide.pth')
    torch.save(open_clip_tiny(width=64).state_dict(), src)
    with pytest.raises(ValueError) as err:
        conv.convert_file(src, None, vision_arch='tiny', text_arch='tiny',
                          act='quick_gelu')
    msg = str(err.value)
    assert 'vision_encoder.cls_token: checkpoint (64,) vs model (48,)' in msg
    assert 'vision arch "tiny"' in msg
    # the same file given straight to the model fails too, not a warning
    sd = conv.convert_clip_state_dict(torch.load(src))
    dst = str(tmp_path / 'wide_mmmae.pth')
    torch.save(dict(state_dict=sd), dst)
    model = classifier(dict(type='Pretrained', checkpoint=dst))
    with pytest.raises(ValueError, match=r'cls_token: checkpoint \(64,\) '
                       r'vs model \(48,\)'):
        model.init_weights()


def test_non_vit_keys_rejected(conv):
    with pytest.raises(KeyError, match='visual.layer1.0.conv1.weight'):
        conv.convert_clip_state_dict(
            {'visual.layer1.0.conv1.weight': torch.zeros(1)})


# ---------------------------------------------------- activation (item 13)
@pytest.mark.parametrize('quick_gelu', [True, False])
def test_activation_read_from_torchscript_code(tmp_path, quick_gelu, conv):
    path = str(tmp_path / 'ViT-tiny.pt')
    torchscript(open_clip_tiny(quick_gelu=quick_gelu), path)
    ckpt = conv.convert_file(path, None, 'tiny', 'tiny')
    act = 'quick_gelu' if quick_gelu else 'gelu'
    assert ckpt['meta']['act'] == act
    assert 'TorchScript code' in ckpt['meta']['act_from']
    # an --act that contradicts the archive names both
    other = 'gelu' if quick_gelu else 'quick_gelu'
    with pytest.raises(ValueError, match=f'--act {other} contradicts.*'
                       f'says {act}'):
        conv.convert_file(path, None, 'tiny', 'tiny', act=other)


def test_activation_from_open_clip_config_or_explicit(tmp_path, conv):
    src = str(tmp_path / 'open_clip_pytorch_model.bin')
    torch.save(open_clip_tiny(quick_gelu=False).state_dict(), src)
    # a bare state dict does not say: --act is required
    with pytest.raises(ValueError, match='pass --act quick_gelu'):
        conv.convert_file(src, None, 'tiny', 'tiny')
    assert conv.convert_file(src, None, 'tiny', 'tiny',
                             act='gelu')['meta']['act'] == 'gelu'
    # open_clip's hub layout has the model config next to the weights
    (tmp_path / 'open_clip_config.json').write_text(
        json.dumps(dict(model_cfg=dict(embed_dim=16))))
    ckpt = conv.convert_file(src, None, 'tiny', 'tiny')
    assert ckpt['meta']['act'] == 'gelu'
    assert 'open_clip_config.json' in ckpt['meta']['act_from']
    (tmp_path / 'open_clip_config.json').write_text(
        json.dumps(dict(model_cfg=dict(quick_gelu=True))))
    with pytest.raises(ValueError, match='contradicts'):
        conv.convert_file(src, None, 'tiny', 'tiny', act='gelu')


def test_loading_a_checkpoint_of_the_other_activation_fails(tmp_path, conv):
    """A GELU checkpoint in QuickGELU towers: an error naming both."""
    ref = open_clip_tiny(quick_gelu=False)
    src = str(tmp_path / 'gelu.pth')
    torch.save(ref.state_dict(), src)
    dst = str(tmp_path / 'gelu_mmmae.pth')
    conv.convert_file(src, dst, 'tiny', 'tiny', act='gelu')
    wrong = classifier(dict(type='Pretrained', checkpoint=dst),
                       act='quick_gelu')
    with pytest.raises(ValueError) as err:
        wrong.init_weights()
    msg = str(err.value)
    assert 'act="quick_gelu"' in msg and 'act="gelu"' in msg
    assert 'vision_encoder' in msg
    # the matching towers load it and reproduce open_clip's GELU model
    model = classifier(dict(type='Pretrained', checkpoint=dst), act='gelu')
    model.init_weights()
    img = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.vision_encoder(img),
                              ref.encode_image(img), atol=1e-5)
    # a checkpoint the model itself saves carries its activation too
    saved = str(tmp_path / 'saved.pth')
    torch.save(dict(state_dict=model.state_dict()), saved)
    with pytest.raises(ValueError, match='act="gelu"'):
        classifier(dict(type='Pretrained', checkpoint=saved),
                   act='quick_gelu').init_weights()


def test_converter_writes_atomically(tmp_path, monkeypatch, conv):
    src = str(tmp_path / 'openclip.pth')
    torch.save(open_clip_tiny().state_dict(), src)
    dst = tmp_path / 'out' / 'mmmae.pth'
    dst.parent.mkdir()
    dst.write_bytes(b'previous')
    from mmmae.utils import atomic_io

    def crash(tmp, path):
        raise KeyboardInterrupt('killed while publishing')

    monkeypatch.setattr(atomic_io, '_publish', crash)
    with pytest.raises(KeyboardInterrupt):
        conv.convert_file(src, str(dst), 'tiny', 'tiny', act='quick_gelu')
    # the old file is intact and no partial file is left behind
    assert dst.read_bytes() == b'previous'
    assert sorted(p.name for p in dst.parent.iterdir()) == ['mmmae.pth']
