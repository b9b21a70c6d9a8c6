import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.models.layers.token_readout import TokenReadout
from mmmae.models.pretrainers import convert_multimae
from mmmae.models.prompts import BasePrompt
from mmmae.registry import MODELS

K = 5
# Reference fixtures: tests/data/multimae_heads/README.md
DATA = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))), 'data', 'multimae_heads')


def _cfg(tasks=('depth', 'semseg'), **kwargs):
    heads = dict(
        # softplus: a random head's raw output is often below the test-time
        # clamp everywhere, which would hide differences between predictions.
        depth=dict(type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1),
                   channels=16, post_process_channels=(8, 8, 16, 16),
                   head_channels=(8, 4), depth_act='softplus'),
        semseg=dict(type='ConvNeXtHead', in_channels=32, channels=8,
                    num_blocks=1, num_classes=K))
    cfg = dict(
        type='MultiTaskSegmentor',
        backbone=dict(type='MultiViT', arch='tiny', out_indices=(0, 1)),
        decode_heads={t: heads[t] for t in tasks})
    cfg.update(kwargs)
    return cfg


def _batch(batch=2, size=(32, 32), ori=None, **meta):
    inputs = dict(rgb=torch.randn(batch, 3, *size),
                  depth=torch.randn(batch, 1, *size))
    samples = []
    for _ in range(batch):
        s = SegDataSample(metainfo=dict(img_shape=size, pad_shape=size,
                                        ori_shape=ori or size, **meta))
        s.gt_sem_seg = PixelData(data=torch.randint(0, K, (1, *size)))
        s.gt_depth_map = PixelData(data=torch.rand(1, *size) * 4 + 0.5)
        samples.append(s)
    return inputs, samples


def _count_backbone_calls(model):
    calls = []
    original = model.backbone.forward_features

    def counted(inputs, tasks=None):
        calls.append((tuple(inputs), tasks))
        return original(inputs, tasks)

    model.backbone.forward_features = counted
    return calls


@pytest.mark.parametrize('mode', ['loss', 'predict'])
def test_one_backbone_pass_feeds_every_head(mode):
    model = MODELS.build(_cfg())
    calls = _count_backbone_calls(model)
    inputs, samples = _batch()
    out = model(inputs, samples, mode=mode)
    assert len(calls) == 1 and calls[0][1] == ('depth', 'semseg')
    if mode == 'loss':
        assert {'decode_depth.loss_berhu', 'decode_semseg.loss_ce',
                'decode_semseg.acc_seg', 'decode_depth.rmse'} <= set(out)
        sum(v for k, v in out.items() if 'loss' in k).backward()
        grad = model.backbone.blocks[0].attn.qkv.weight.grad
        assert grad is not None and grad.abs().sum() > 0


def test_one_pass_false_runs_backbone_per_task():
    model = MODELS.build(_cfg(one_pass=False))
    calls = _count_backbone_calls(model)
    model.loss(*_batch())
    assert [c[1] for c in calls] == ['depth', 'semseg']


@pytest.mark.parametrize('modalities',
                         [('rgb', ), ('depth', ), ('rgb', 'depth')])
def test_every_input_subset(modalities):
    # The heads read the first input modality (the default reads rgb).
    model = MODELS.build(_cfg(input_modalities=modalities,
                              readout=dict(modalities=modalities[:1])))
    calls = _count_backbone_calls(model)
    inputs, samples = _batch()
    losses = model.loss(inputs, samples)
    # Only the chosen modalities reach the backbone.
    assert calls[0][0] == modalities
    assert torch.isfinite(losses['decode_depth.loss_berhu'])
    inputs_missing = {k: v for k, v in inputs.items() if k != modalities[0]}
    with pytest.raises(KeyError, match=modalities[0]):
        model.loss(inputs_missing, samples)


def test_bad_config_and_inputs():
    with pytest.raises(KeyError, match='semseg'):
        MODELS.build(_cfg(input_modalities=('semseg', )))
    with pytest.raises(ValueError, match='decode_heads'):
        MODELS.build(_cfg(tasks=()))
    with pytest.raises(KeyError, match='crop_size'):
        MODELS.build(_cfg(test_cfg=dict(mode='slide')))
    model = MODELS.build(_cfg())
    with pytest.raises(TypeError, match='dict'):
        model.loss(torch.randn(1, 3, 32, 32), [])
    inputs, samples = _batch(img_path='a/rgb/x.png')
    del samples[1].gt_depth_map
    with pytest.raises(KeyError, match='gt_depth_map.*x.png'):
        model.loss(inputs, samples)


def test_prediction_fields_at_ori_shape_padding_removed():
    model = MODELS.build(_cfg()).eval()
    inputs, samples = _batch(size=(32, 48), ori=(45, 30),
                             padding_size=[0, 16, 0, 0])
    with torch.no_grad():
        out = model.predict(inputs, samples)
    for s in out:
        assert s.pred_depth_map.data.shape == (1, 45, 30)
        assert s.seg_logits.data.shape == (K, 45, 30)
        assert s.pred_sem_seg.data.shape == (1, 45, 30)
        assert torch.equal(s.pred_sem_seg.data,
                           s.seg_logits.data.argmax(0, keepdim=True))
        assert (s.pred_depth_map.data > 0).all()
    # Without data samples: predictions at the input size.
    with torch.no_grad():
        bare = model.predict(inputs)
    assert bare[0].pred_depth_map.shape == (32, 48)


def test_single_task_model_predicts_only_its_field():
    model = MODELS.build(_cfg(tasks=('depth', ))).eval()
    inputs, samples = _batch()
    del samples[0].gt_sem_seg  # not needed by a depth-only model
    with torch.no_grad():
        out = model.predict(inputs, samples)
    assert 'pred_depth_map' in out[0] and 'pred_sem_seg' not in out[0]


def test_slide_and_whole_agree():
    model = MODELS.build(_cfg()).eval()
    inputs = dict(rgb=torch.randn(1, 3, 48, 64))
    with torch.no_grad():
        whole = model.inference(inputs)
        model.test_cfg.update(mode='slide', crop_size=(32, 32),
                              stride=(16, 16))
        slide = model.inference(inputs)
        # One window covering the whole image is the whole prediction.
        model.test_cfg.update(crop_size=(48, 64))
        one_window = model.inference(inputs)
    for task in ('depth', 'semseg'):
        assert slide[task].shape == whole[task].shape
        torch.testing.assert_close(one_window[task], whole[task])
    assert not torch.allclose(slide['depth'], whole['depth'])


def test_slide_crops_every_modality_at_the_same_place():
    model = MODELS.build(_cfg(tasks=('depth', ),
                              test_cfg=dict(mode='slide', crop_size=(32, 32),
                                            stride=(32, 32)))).eval()
    calls = _count_backbone_calls(model)
    inputs = dict(rgb=torch.randn(1, 3, 32, 64),
                  depth=torch.randn(1, 1, 32, 64))
    with torch.no_grad():
        slide = model.inference(inputs)['depth']
        right = model.encode_decode(
            {k: v[..., 32:] for k, v in inputs.items()})['depth']
    assert len(calls) == 3  # two windows + the reference
    torch.testing.assert_close(slide[..., 32:], right)


def test_flip_tta_averages_with_flipped_prediction():
    model = MODELS.build(_cfg()).eval()
    inputs = dict(rgb=torch.randn(1, 3, 32, 48),
                  depth=torch.randn(1, 1, 32, 48))
    flipped = {k: v.flip(-1) for k, v in inputs.items()}
    with torch.no_grad():
        plain = model.inference(inputs)
        plain_f = model.inference(flipped)
        model.test_cfg.flip = True
        tta = model.inference(inputs)
        tta_f = model.inference(flipped)
    for task in ('depth', 'semseg'):
        torch.testing.assert_close(
            tta[task], (plain[task] + plain_f[task].flip(-1)) / 2)
        # The averaged prediction is flip-equivariant.
        torch.testing.assert_close(tta_f[task], tta[task].flip(-1))


def test_test_pipeline_flip_is_undone():
    model = MODELS.build(_cfg()).eval()
    inputs, samples = _batch(batch=1, flip=True,
                             flip_direction='horizontal')
    _, plain_samples = _batch(batch=1)
    with torch.no_grad():
        flipped = model.predict(inputs, samples)[0]
        plain = model.predict(inputs, plain_samples)[0]
    torch.testing.assert_close(flipped.pred_depth_map.data,
                               plain.pred_depth_map.data.flip(-1))


@MODELS.register_module(force=True)
class _TaskRecordingPrompt(BasePrompt):
    """Adds an auxiliary loss and records the tasks of each pass."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.seen = []

    def before_block(self, index, x, layout, ctx):
        if index == 0:
            self.seen.append(ctx.tasks)
            ctx.losses['loss_aux'] = self.scale * 2.0
        return x, layout


def test_prompt_losses_and_tasks_reach_the_loss_dict():
    model = MODELS.build(
        _cfg(backbone=dict(type='MultiViT', arch='tiny', out_indices=(0, 1),
                           prompt=dict(type='_TaskRecordingPrompt'))))
    losses = model.loss(*_batch())
    assert losses['loss_aux'].item() == 2.0
    assert model.backbone.prompt.seen == [('depth', 'semseg')]
    model.one_pass = False
    losses = model.loss(*_batch())
    assert {'depth.loss_aux', 'semseg.loss_aux'} <= set(losses)


def test_layer_wise_lr_decay_through_mmpretrain_constructor():
    model = MODELS.build(_cfg())
    wrapper = build_optim_wrapper(
        model,
        dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
             constructor='mmpretrain.LearningRateDecayOptimWrapperConstructor',
             paramwise_cfg=dict(layer_decay_rate=0.5)))
    lrs = {g['param_name']: g['lr'] for g in wrapper.optimizer.param_groups}
    # tiny: 2 blocks -> 4 layer ids; heads get the full lr.
    assert lrs['decode_heads.depth.conv_depth.0.weight'] == pytest.approx(
        1e-3)
    assert lrs['backbone.blocks.1.attn.qkv.weight'] == pytest.approx(5e-4)
    assert lrs['backbone.blocks.0.attn.qkv.weight'] == pytest.approx(2.5e-4)
    assert lrs['backbone.global_tokens'] == pytest.approx(1.25e-4)


def test_tensor_mode_returns_raw_head_outputs():
    model = MODELS.build(_cfg())
    out = model(*_batch(), mode='tensor')
    assert out['depth'].shape == (2, 1, 32, 32)
    assert out['semseg'].shape == (2, K, 8, 8)


def test_shared_neck_feeds_both_heads():
    neck = dict(type='mmseg.MultiLevelNeck', in_channels=[32, 32],
                out_channels=32, scales=[1, 1])
    model = MODELS.build(_cfg(neck=neck))
    losses = model.loss(*_batch())
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert all(p.grad is not None for p in model.neck.parameters())


def test_decode_head_none_is_dropped():
    cfg = _cfg()
    cfg['decode_heads']['semseg'] = None
    model = MODELS.build(cfg)
    assert model.tasks == ('depth', )


def test_default_readout_is_the_references_rgb_tokens():
    model = MODELS.build(_cfg(input_modalities=('rgb', 'depth')))
    for ro in model.readouts.values():
        assert ro.modalities == ('rgb', ) and ro.mode == 'concat'
    inputs, _ = _batch()
    feats = model.backbone.forward_features(inputs, tasks=model.tasks)
    maps = model.extract_task_feats(inputs, model.tasks)[0]['semseg']
    tokens, layout = feats['tokens'][-1], feats['layout']
    rgb = tokens[:, layout.modalities['rgb']]  # B (h w) D
    torch.testing.assert_close(maps[-1].flatten(2).transpose(1, 2), rgb)
    # The depth-only model has no rgb tokens to read: said at build time.
    with pytest.raises(KeyError, match=r"reads modalities \['rgb'\]"):
        MODELS.build(_cfg(input_modalities=('depth', )))


def test_readout_channels_and_per_task_readouts():
    both = ('rgb', 'depth')
    cfg = _cfg(input_modalities=both,
               readout=dict(modalities=both, mode='concat'),
               task_readouts=dict(depth=dict(modalities=None, mode='mean')))
    cfg['decode_heads']['semseg']['in_channels'] = 64  # 2 x 32
    model = MODELS.build(cfg)
    assert repr(model.readouts['depth']) == repr(TokenReadout(None, 'mean'))
    inputs, samples = _batch()
    maps, _ = model.extract_task_feats(inputs, model.tasks)
    assert maps['semseg'][-1].shape == (2, 64, 2, 2)
    assert maps['depth'][-1].shape == (2, 32, 2, 2)
    model.loss(inputs, samples)
    # A head whose in_channels disagrees with its readout: build error.
    with pytest.raises(ValueError, match=r'decode_heads.semseg: '
                       r'in_channels 32.* gives 64-channel maps'):
        MODELS.build(_cfg(tasks=('semseg', ), input_modalities=both,
                          readout=dict(modalities=both)))
    with pytest.raises(ValueError, match='decode_heads.depth: in_channels '
                       r'\[32, 32, 32, 32\].* 64'):
        MODELS.build(_cfg(tasks=('depth', ), input_modalities=both,
                          readout=dict(modalities=both)))
    with pytest.raises(KeyError, match='task_readouts'):
        MODELS.build(_cfg(task_readouts=dict(normals=dict())))


def _reference_rgbd_semseg(name, readout):
    ref = torch.load(osp.join(DATA, f'{name}.pt'), weights_only=True)
    model = MODELS.build(dict(
        type='MultiTaskSegmentor',
        backbone=dict(
            type='MultiViT', img_size=64, out_indices=(3, ),
            arch=dict(embed_dims=32, depth=4, num_heads=2, mlp_ratio=4.),
            input_adapters=dict(
                rgb=dict(type='PatchedInputAdapter', in_channels=3),
                depth=dict(type='PatchedInputAdapter', in_channels=1))),
        readout=readout,
        decode_heads=dict(semseg=dict(
            type='ConvNeXtHead', channels=8, num_blocks=2, num_classes=5,
            in_channels=TokenReadout(**readout).out_channels(32)))))
    model.load_state_dict(convert_multimae(ref['model']), strict=True)
    return model.eval(), ref


def _rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize('name,modalities', [
    ('convnext_semseg_rgbd', ('rgb', )),
    ('convnext_semseg_rgbd_concat', ('rgb', 'depth')),
])
def test_rgbd_semseg_readout_matches_the_reference(name, modalities):
    """ft_nyu_200e_multimae-b_rgb-depth.yaml's readout (main_tasks rgb) and
    its rgb-depth option (concatenated), against reference logits."""
    model, ref = _reference_rgbd_semseg(
        name, dict(modalities=modalities, mode='concat'))
    with torch.no_grad():
        logits = model.encode_decode(ref['inputs'])['semseg']
        low = model(ref['inputs'], mode='tensor')['semseg']
    assert _rel(logits, ref['expected']) < 1e-5
    # mode='tensor' gives the stride-4 logits; the reference's bilinear
    # upsampling of them is what encode_decode returned.
    up = F.interpolate(low, size=(64, 64), mode='bilinear',
                       align_corners=False)
    assert _rel(up, ref['expected']) < 1e-5
    if len(modalities) == 1:
        # mmmae's old readout, every modality averaged, is another model.
        model.readouts['semseg'] = TokenReadout(None, 'mean')
        with torch.no_grad():
            mean = model.encode_decode(ref['inputs'])['semseg']
        assert _rel(mean, ref['expected']) > 0.1
