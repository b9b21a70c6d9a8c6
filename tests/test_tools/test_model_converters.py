import os.path as osp

import pytest
import torch

from mmmae.models.pretrainers import (check_state_dict_fits, convert_multimae,
                                      convert_vit, load_pretrained)
from mmmae.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
D, E, CLASSES, DEPTH = 32, 32, 5, 2  # encoder width, decoder width


@pytest.fixture(scope='module')
def multimae2mmmae(load_tool):
    return load_tool('tools/model_converters/multimae2mmmae.py')


@pytest.fixture(scope='module')
def vit2mmmae(load_tool):
    return load_tool('tools/model_converters/vit2mmmae.py')


def _block(prefix, dim, out=None):
    out = {} if out is None else out
    for norm in ('norm1', 'norm2'):
        out[f'{prefix}.{norm}.weight'] = torch.randn(dim)
        out[f'{prefix}.{norm}.bias'] = torch.randn(dim)
    shapes = {'attn.qkv': (3 * dim, dim), 'attn.proj': (dim, dim),
              'mlp.fc1': (4 * dim, dim), 'mlp.fc2': (dim, 4 * dim)}
    for name, shape in shapes.items():
        out[f'{prefix}.{name}.weight'] = torch.randn(shape)
        out[f'{prefix}.{name}.bias'] = torch.randn(shape[0])
    return out


def official_multimae(dim=D, grid=2):
    """A state dict with the official MultiMAE names and shapes."""
    sd = {'global_tokens': torch.randn(1, 1, dim)}
    for m, c in (('rgb', 3), ('depth', 1)):
        sd[f'input_adapters.{m}.pos_emb'] = torch.randn(1, dim, grid, grid)
        sd[f'input_adapters.{m}.proj.weight'] = torch.randn(dim, c, 16, 16)
        sd[f'input_adapters.{m}.proj.bias'] = torch.randn(dim)
    sd['input_adapters.semseg.pos_emb'] = torch.randn(1, dim, grid, grid)
    sd['input_adapters.semseg.class_emb.weight'] = torch.randn(CLASSES, 64)
    sd['input_adapters.semseg.proj.weight'] = torch.randn(dim, 64, 4, 4)
    sd['input_adapters.semseg.proj.bias'] = torch.randn(dim)
    for i in range(DEPTH):
        _block(f'encoder.{i}', dim, sd)
    for task, c, p in (('rgb', 3, 16), ('depth', 1, 16),
                       ('semseg', CLASSES, 4), ('norm_rgb', 3, 16)):
        pre = f'output_adapters.{task}'
        for m in ('rgb', 'depth', 'semseg'):
            sd[f'{pre}.task_embeddings.{m}'] = torch.randn(1, 1, E)
        sd[f'{pre}.mask_token'] = torch.randn(1, 1, E)
        sd[f'{pre}.pos_emb'] = torch.randn(1, E, grid, grid)
        sd[f'{pre}.proj_context.weight'] = torch.randn(E, dim)
        sd[f'{pre}.proj_context.bias'] = torch.randn(E)
        sd[f'{pre}.decoder.q.weight'] = torch.randn(E, E)
        sd[f'{pre}.decoder.q.bias'] = torch.randn(E)
        sd[f'{pre}.decoder.kv.weight'] = torch.randn(2 * E, E)
        sd[f'{pre}.decoder.kv.bias'] = torch.randn(2 * E)
        sd[f'{pre}.decoder.proj.weight'] = torch.randn(E, E)
        sd[f'{pre}.decoder.proj.bias'] = torch.randn(E)
        for norm in ('context_norm', 'query_norm', 'out_norm'):
            sd[f'{pre}.{norm}.weight'] = torch.randn(E)
            sd[f'{pre}.{norm}.bias'] = torch.randn(E)
        sd[f'{pre}.mlp.fc1.weight'] = torch.randn(4 * E, E)
        sd[f'{pre}.mlp.fc1.bias'] = torch.randn(4 * E)
        sd[f'{pre}.mlp.fc2.weight'] = torch.randn(E, 4 * E)
        sd[f'{pre}.mlp.fc2.bias'] = torch.randn(E)
        _block(f'{pre}.decoder_transformer.0', E, sd)
        sd[f'{pre}.out_proj.weight'] = torch.randn(c * p * p, E)
        sd[f'{pre}.out_proj.bias'] = torch.randn(c * p * p)
    return sd


def mmmae_multimae(dim=D):
    dec = dict(type='SpatialCrossAttentionDecoder', embed_dims=E,
               num_heads=2, depth=1)
    return MODELS.build(dict(
        type='MultiMAE',
        backbone=dict(
            type='MultiViT', img_size=32,
            arch=dict(embed_dims=dim, depth=DEPTH, num_heads=2, mlp_ratio=4),
            input_adapters=dict(
                rgb=dict(type='PatchedInputAdapter', in_channels=3),
                depth=dict(type='PatchedInputAdapter', in_channels=1),
                semseg=dict(type='SemSegInputAdapter',
                            num_classes=CLASSES))),
        masking=dict(type='DirichletMasking', num_encoded_tokens=4),
        decoders=dict(rgb=dict(dec, out_channels=3),
                      norm_rgb=dict(dec, task='rgb', out_channels=3),
                      depth=dict(dec, out_channels=1),
                      semseg=dict(dec, out_channels=CLASSES,
                                  stride_level=4)),
        losses=dict(rgb=dict(type='MaskedMSELoss'),
                    norm_rgb=dict(type='MaskedMSELoss', norm_pix=True),
                    depth=dict(type='MaskedL1Loss'),
                    semseg=dict(type='MaskedCrossEntropyLoss'))))


def test_official_multimae_loads_strictly():
    official = official_multimae()
    converted = convert_multimae(official)
    model = mmmae_multimae()
    model.load_state_dict(converted, strict=True)
    # Values land where they belong.
    assert torch.equal(model.backbone.blocks[1].attn.qkv.weight,
                       official['encoder.1.attn.qkv.weight'])
    assert torch.equal(model.backbone.input_adapters['rgb'].pos_embed,
                       official['input_adapters.rgb.pos_emb'])
    sem = model.decoders['semseg']
    assert torch.equal(sem.cross_attn.kv.weight,
                       official['output_adapters.semseg.decoder.kv.weight'])
    assert torch.equal(
        sem.blocks[0].mlp.fc2.bias,
        official['output_adapters.semseg.decoder_transformer.0.mlp.fc2.bias'])
    assert torch.equal(sem.query_norm.weight,
                       official['output_adapters.semseg.query_norm.weight'])
    table = model.backbone.input_adapters['semseg'].class_emb.weight
    assert torch.equal(table[:CLASSES],
                       official['input_adapters.semseg.class_emb.weight'])
    assert (table[CLASSES] == 0).all()  # the added ignore row
    # A checkpoint for 224 px (14x14 tables) loads into the 32 px model.
    big = convert_multimae(official_multimae(grid=14))
    missing, unexpected = check_state_dict_fits(model, big)
    assert missing == [] and unexpected == []
    model.load_state_dict(big, strict=True)
    out = model(dict(rgb=torch.randn(1, 3, 32, 32),
                     depth=torch.randn(1, 1, 32, 32),
                     semseg=torch.randint(0, CLASSES, (1, 8, 8))),
                mode='tensor')
    assert torch.isfinite(out['semseg']).all()


def test_multimae_tool_end_to_end(tmp_path, multimae2mmmae):
    src, dst = tmp_path / 'official.pth', tmp_path / 'out' / 'mmmae.pth'
    torch.save({'model': official_multimae(), 'epoch': 1599}, src)
    multimae2mmmae.main([str(src), str(dst)])
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['converter'] == 'multimae2mmmae'
    missing, _ = load_pretrained(mmmae_multimae(), str(dst), strict=True)
    assert missing == []
    # load_pretrained converts official files on the fly, too.
    missing, _ = load_pretrained(mmmae_multimae(), str(src), strict=True)
    assert missing == []


def timm_vit(dim=D, grid=2, with_head=True):
    sd = {'cls_token': torch.randn(1, 1, dim),
          'pos_embed': torch.randn(1, 1 + grid * grid, dim),
          'patch_embed.proj.weight': torch.randn(dim, 3, 16, 16),
          'patch_embed.proj.bias': torch.randn(dim),
          'norm.weight': torch.randn(dim), 'norm.bias': torch.randn(dim)}
    for i in range(DEPTH):
        _block(f'blocks.{i}', dim, sd)
    if with_head:
        sd['head.weight'] = torch.randn(10, dim)
        sd['head.bias'] = torch.randn(10)
    return sd


def _rgb_vit(dim=D):
    return MODELS.build(dict(
        type='MultiViT', img_size=32,
        arch=dict(embed_dims=dim, depth=DEPTH, num_heads=2, mlp_ratio=4),
        input_adapters=dict(
            rgb=dict(type='PatchedInputAdapter', in_channels=3))))


def test_timm_and_mae_vit_load_strictly_into_multivit():
    vit = timm_vit()
    converted = convert_vit(vit)
    assert 'backbone.input_adapters.rgb.pos_embed' in converted
    assert not any('norm.' == k[:5] or 'head' in k for k in converted)
    model = _rgb_vit()
    missing, unexpected = load_pretrained(model, {'model': vit}, strict=True)
    assert missing == [] and unexpected == []
    pos = model.input_adapters['rgb'].pos_embed  # (1, D, 2, 2)
    # Class slot dropped, row-major patch order kept.
    assert torch.equal(pos[0, :, 0, 1], vit['pos_embed'][0, 2])
    assert torch.equal(model.global_tokens, vit['cls_token'])
    # A 224 px ViT (196 positions) is resized to the 2x2 grid on load.
    load_pretrained(_rgb_vit(), timm_vit(grid=14), strict=True)


def test_vit_tool_reports_dropped_keys(tmp_path, capsys, vit2mmmae):
    src, dst = tmp_path / 'mae.pth', tmp_path / 'mae_mmmae.pth'
    torch.save({'model': timm_vit()}, src)
    vit2mmmae.main([str(src), str(dst)])
    assert "'norm.weight'" in capsys.readouterr().out
    sd = torch.load(dst, weights_only=True)['state_dict']
    assert sd['backbone.input_adapters.rgb.pos_embed'].shape == (1, D, 2, 2)


def test_other_architectures_fail_naming_the_keys():
    # Width 64 into a width-32 model: every misfit key with both shapes.
    with pytest.raises(ValueError,
                       match=r'do not fit the MultiMAE model.*'
                       r'backbone.global_tokens: checkpoint \(1, 1, 64\) vs '
                       r'model \(1, 1, 32\)'):
        load_pretrained(mmmae_multimae(), official_multimae(dim=64))
    with pytest.raises(ValueError, match=r'blocks.0.attn.qkv.weight: '
                       r'checkpoint \(192, 64\) vs model \(96, 32\)'):
        load_pretrained(_rgb_vit(), timm_vit(dim=64))
    # A ResNet state dict: no format fits, its keys are named.
    resnet = {'conv1.weight': torch.randn(64, 3, 7, 7),
              'bn1.weight': torch.randn(64),
              'layer1.0.conv1.weight': torch.randn(64, 64, 1, 1)}
    with pytest.raises(ValueError, match=r"conv1.weight.*bn1.weight"):
        load_pretrained(_rgb_vit(), resnet)
    # The same under mmmae-style names: no key matches the model.
    with pytest.raises(ValueError, match='no key of the checkpoint matches'):
        check_state_dict_fits(_rgb_vit(), resnet)


def test_tool_checks_against_a_config(tmp_path, vit2mmmae):
    cfg = tmp_path / 'tiny.py'
    cfg.write_text(
        "model = dict(type='MultiViT', img_size=32, arch=dict(embed_dims=32,"
        " depth=2, num_heads=2, mlp_ratio=4), input_adapters=dict(rgb=dict("
        "type='PatchedInputAdapter', in_channels=3)))\n")
    src = tmp_path / 'vit.pth'
    torch.save(timm_vit(dim=64), src)
    with pytest.raises(ValueError, match='do not fit the MultiViT'):
        vit2mmmae.main([str(src), str(tmp_path / 'o.pth'),
                        '--config', str(cfg)])
    assert not (tmp_path / 'o.pth').exists()


def test_converted_file_loads_through_init_cfg_pretrained(tmp_path,
                                                          multimae2mmmae):
    """The route of the fine-tuning configs: the converter's output file as
    ``init_cfg=dict(type='Pretrained', prefix='backbone.')`` of a MultiViT
    built for another size (224 px tables resized to the 64 px grid)."""
    src, dst = tmp_path / 'official.pth', tmp_path / 'mmmae.pth'
    official = official_multimae(grid=14)
    torch.save({'model': official}, src)
    multimae2mmmae.main([str(src), str(dst)])
    backbone = MODELS.build(dict(
        type='MultiViT', img_size=64,
        arch=dict(embed_dims=D, depth=DEPTH, num_heads=2, mlp_ratio=4),
        input_adapters=dict(
            rgb=dict(type='PatchedInputAdapter', in_channels=3)),
        init_cfg=dict(type='Pretrained', checkpoint=str(dst),
                      prefix='backbone.')))
    backbone.init_weights()
    assert torch.equal(backbone.blocks[0].mlp.fc1.weight,
                       official['encoder.0.mlp.fc1.weight'])
    assert torch.equal(backbone.input_adapters['rgb'].proj.weight,
                       official['input_adapters.rgb.proj.weight'])
    pos = backbone.input_adapters['rgb'].pos_embed
    assert pos.shape == (1, D, 4, 4)
    # The load pre-hook resized the 14x14 table to 4x4, as resize does.
    from mmmae.models.layers import resize_pos_embed
    assert torch.allclose(pos, resize_pos_embed(
        official['input_adapters.rgb.pos_emb'], (4, 4), 'bicubic'))


# ---------------------------------------------------------------------------
# Fine-tuned reference checkpoints (DPT depth, ConvNeXt semseg) into the
# matching configs. Fixtures: tests/data/multimae_heads/README.md (tiny
# reference models: D = 32, 4 blocks, 64 x 64 inputs).
FIXTURES = osp.join(ROOT, 'tests', 'data', 'multimae_heads')
CONFIGS = osp.join(ROOT, 'configs', 'multimae')
DEPTH_CFG = 'multimae_vit-b_depth_8xb16-12k_nyuv2-256x256.py'
RGBD_SEG_CFG = 'multimae_vit-b_seg-rgbd_1xb8-amp-20k_nyuv2-640x640.py'


def _fixture(name):
    return torch.load(osp.join(FIXTURES, f'{name}.pt'), weights_only=True)


def _tiny_model_of(config):
    """The config's model at the fixtures' size; everything else (readout,
    output activation, layer scale, ...) as the config says."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(CONFIGS, config)).model
    cfg.backbone.update(
        arch=dict(embed_dims=32, depth=4, num_heads=2, mlp_ratio=4.),
        img_size=64, out_indices=(0, 1, 2, 3), init_cfg=None)
    n = len(cfg.readout.modalities) if cfg.readout['mode'] == 'concat' else 1
    heads = cfg.decode_heads
    if heads.get('depth'):
        heads.depth.update(embed_dims=32 * n, channels=16,
                           post_process_channels=(8, 16, 16, 32),
                           head_channels=(8, 32))
    if heads.get('semseg'):
        heads.semseg.update(in_channels=32 * n, channels=8, num_blocks=2,
                            num_classes=5)
    return MODELS.build(cfg).eval()


def _rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize('fixture,config,task', [
    ('dpt_depth_rgb', DEPTH_CFG, 'depth'),
    ('convnext_semseg_rgbd', RGBD_SEG_CFG, 'semseg'),
])
def test_finetuned_reference_checkpoint_gives_the_reference_outputs(
        fixture, config, task, tmp_path, multimae2mmmae):
    ref = _fixture(fixture)
    src, dst = tmp_path / 'finetuned.pth', tmp_path / 'converted.pth'
    torch.save({'model': ref['model'], 'epoch': 1999}, src)
    multimae2mmmae.main([str(src), str(dst)])
    converted = torch.load(dst, weights_only=True)['state_dict']
    # Every reference key has a place, except the DPT's never-called unit.
    skipped = [k for k in ref['model'] if 'refinenet4.resConfUnit1' in k]
    assert len(skipped) == (4 if task == 'depth' else 0)
    model = _tiny_model_of(config)
    model.load_state_dict(converted, strict=True)
    with torch.no_grad():
        out = model(ref['inputs'], mode='tensor')[task]
    if task == 'semseg':
        # mode='tensor' returns the head's stride-4 logits; the reference
        # upsamples them bilinearly, as mmseg's predict does.
        out = torch.nn.functional.interpolate(
            out, size=ref['expected'].shape[-2:], mode='bilinear',
            align_corners=False)
    assert out.shape == ref['expected'].shape
    assert _rel(out, ref['expected']) < 1e-5
    torch.testing.assert_close(out, ref['expected'], rtol=1e-5,
                               atol=1e-5 * ref['expected'].abs().max())


def test_finetuned_heads_land_where_they_belong():
    sd = _fixture('dpt_depth_rgb')['model']
    converted = convert_multimae(sd)
    pre = 'output_adapters.depth.'
    assert torch.equal(
        converted['decode_heads.depth.fusion_blocks.0.res_conv_unit2.'
                  'conv1.conv.bias'],
        sd[pre + 'scratch.refinenet4.resConfUnit2.conv1.bias'])
    assert torch.equal(
        converted['decode_heads.depth.reassemble_blocks.resize_layers.3.'
                  'weight'], sd[pre + 'act_4_postprocess.1.weight'])
    assert torch.equal(converted['decode_heads.depth.conv_depth.4.bias'],
                       sd[pre + 'head.4.bias'])
    sem = convert_multimae(_fixture('convnext_semseg_rgbd')['model'])
    assert 'decode_heads.semseg.blocks.1.depthwise_conv.weight' in sem
    assert 'decode_heads.semseg.conv_seg.weight' in sem


def test_no_key_is_dropped(tmp_path, multimae2mmmae):
    sd = dict(_fixture('dpt_depth_rgb')['model'])
    sd['output_adapters.depth.scratch.refinenet2.extra.weight'] = \
        torch.zeros(1)
    with pytest.raises(ValueError, match=r'1 keys .* would be dropped: '
                       r"\['output_adapters.depth.scratch.refinenet2.extra"):
        convert_multimae(sd)
    src, dst = tmp_path / 'bad.pth', tmp_path / 'out.pth'
    torch.save({'model': sd}, src)
    with pytest.raises(SystemExit, match='refinenet2.extra'):
        multimae2mmmae.main([str(src), str(dst)])
    assert not dst.exists()
    # The reference registers some modules twice; the two names must agree.
    sd = dict(_fixture('dpt_depth_rgb')['model'])
    sd['output_adapters.depth.scratch.layer_rn.0.weight'] = torch.zeros_like(
        sd['output_adapters.depth.scratch.layer_rn.0.weight'])
    with pytest.raises(ValueError, match='layer1_rn.weight and .*layer_rn.0'
                       '.weight both map to decode_heads.depth.convs.0'):
        convert_multimae(sd)


def test_converter_writes_atomically(tmp_path, monkeypatch, multimae2mmmae):
    src, dst = tmp_path / 'finetuned.pth', tmp_path / 'out' / 'converted.pth'
    torch.save({'model': _fixture('convnext_semseg_rgbd')['model']}, src)
    dst.parent.mkdir()
    dst.write_bytes(b'previous file')

    def interrupted(*args):
        raise OSError('interrupted before the rename')

    import os
    monkeypatch.setattr(os, 'replace', interrupted)
    with pytest.raises(OSError, match='interrupted'):
        multimae2mmmae.main([str(src), str(dst)])
    monkeypatch.undo()
    # The previous file is intact and no partial file is left behind.
    assert dst.read_bytes() == b'previous file'
    assert sorted(p.name for p in dst.parent.iterdir()) == ['converted.pth']
    multimae2mmmae.main([str(src), str(dst)])
    assert 'state_dict' in torch.load(dst, weights_only=True)
