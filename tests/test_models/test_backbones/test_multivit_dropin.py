"""MultiViT as the backbone of stock mmseg / mmpretrain models: a plain
(B, 3, H, W) image is its rgb input (issue 15 item 5)."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from mmseg.structures import SegDataSample
from mmengine.structures import PixelData

from mmmae.registry import MODELS
from mmmae.utils import register_all_modules

register_all_modules()


def _backbone(**kwargs):
    cfg = dict(type='MultiViT', arch='tiny', patch_size=8, img_size=32,
               input_adapters=dict(
                   rgb=dict(type='PatchedInputAdapter', in_channels=3)))
    cfg.update(kwargs)
    return cfg


def _train_step(model, data):
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.backbone.parameters()]
    losses = model.loss(**model.data_preprocessor(data, True))
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(loss)
    optim.zero_grad()
    loss.backward()
    optim.step()
    changed = [not torch.equal(b, p) for b, p in
               zip(before, model.backbone.parameters())]
    assert any(changed), 'the backbone got no gradient'


def test_tensor_input_is_the_default_modality():
    torch.manual_seed(0)
    model = MODELS.build(_backbone(
        input_adapters=dict(
            rgb=dict(type='PatchedInputAdapter', in_channels=3),
            depth=dict(type='PatchedInputAdapter', in_channels=1))))
    x = torch.randn(2, 3, 32, 32)
    out = model(x)
    assert len(out) == 1 and out[0].shape == (2, 32, 4, 4)
    torch.testing.assert_close(out[0], model(dict(rgb=x))[0])
    # The only adapter is the default; or name one explicitly.
    depth = MODELS.build(_backbone(input_adapters=dict(
        depth=dict(type='PatchedInputAdapter', in_channels=1))))
    assert depth.default_modality == 'depth'
    assert depth(torch.randn(2, 1, 32, 32))[0].shape == (2, 32, 4, 4)
    named = MODELS.build(_backbone(
        default_modality='depth', input_adapters=dict(
            rgb=dict(type='PatchedInputAdapter', in_channels=3),
            depth=dict(type='PatchedInputAdapter', in_channels=1))))
    y = torch.randn(2, 1, 32, 32)
    torch.testing.assert_close(named(y)[0], named(dict(depth=y))[0])


def test_bad_tensor_inputs_fail_clearly():
    model = MODELS.build(_backbone())
    with pytest.raises(ValueError, match=r'\(B, C, H, W\).*\(3, 32, 32\)'):
        model(torch.randn(3, 32, 32))
    with pytest.raises(TypeError, match='list'):
        model([torch.randn(1, 3, 32, 32)])
    with pytest.raises(KeyError, match='default_modality "depth"'):
        MODELS.build(_backbone(default_modality='depth'))
    two = MODELS.build(_backbone(input_adapters=dict(
        depth=dict(type='PatchedInputAdapter', in_channels=1),
        semseg=dict(type='SemSegInputAdapter', num_classes=4))))
    with pytest.raises(ValueError, match=r"no rgb adapter.*'depth', "
                       r"'semseg'.*default_modality"):
        two(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match='out_type "pooled"'):
        MODELS.build(_backbone(out_type='pooled'))


def test_pooled_out_types_are_the_reference_pooling():
    """avg_featmap: LayerNorm(mean of patch + global tokens), as the
    reference LinearOutputAdapter(use_mean_pooling=True); global: the last
    token through the same norm."""
    torch.manual_seed(0)
    avg = MODELS.build(_backbone(out_type='avg_featmap', out_indices=(0, 1)))
    glob = MODELS.build(_backbone(out_type='cls_token'))
    glob.load_state_dict(avg.state_dict())
    with torch.no_grad():
        avg.fc_norm.weight.uniform_(0.5, 1.5)
        avg.fc_norm.bias.uniform_(-1, 1)
    glob.load_state_dict(avg.state_dict())
    x = torch.randn(2, 3, 32, 32)
    feats = avg.forward_features(x)
    tokens = feats['tokens'][-1]
    assert tokens.shape == (2, 16 + 1, 32)
    ln = torch.nn.functional.layer_norm
    ref_avg = ln(tokens.mean(1), (32, ), avg.fc_norm.weight,
                 avg.fc_norm.bias, 1e-6)
    ref_glob = ln(tokens[:, -1], (32, ), avg.fc_norm.weight,
                  avg.fc_norm.bias, 1e-6)
    out = avg(x)
    assert [o.shape for o in out] == [(2, 32), (2, 32)]
    torch.testing.assert_close(out[-1], ref_avg)
    torch.testing.assert_close(glob(x)[0], ref_glob)
    assert avg.get_layer_depth('fc_norm.weight') == (3, 4)


FCN = dict(type='mmseg.FCNHead', in_channels=32, in_index=-1, channels=16,
           num_convs=1, concat_input=False, num_classes=5, norm_cfg=None,
           loss_decode=dict(type='mmseg.CrossEntropyLoss', loss_weight=1.0))
# The reference's ConvNeXt adapter (the ADE20K / Hypersim recipes' head).
CONVNEXT = dict(type='ConvNeXtHead', in_channels=32, channels=8,
                num_blocks=1, num_classes=5, preds_per_patch=4)


# Multi-level: both tapped blocks (MultiViT maps share one stride).
UPER = dict(type='mmseg.UPerHead', in_channels=[32, 32], in_index=[0, 1],
            pool_scales=(1, 2), channels=16, num_classes=5, norm_cfg=None,
            loss_decode=dict(type='mmseg.CrossEntropyLoss', loss_weight=1.0))


@pytest.mark.parametrize('head', [FCN, UPER, CONVNEXT],
                         ids=['fcn', 'uper', 'convnext'])
def test_stock_mmseg_encoder_decoder_trains_and_predicts(head):
    init_default_scope('mmmae')
    torch.manual_seed(0)
    # ConfigDict as a config file gives it (mmseg reads test_cfg.mode).
    model = MODELS.build(ConfigDict(
        type='mmseg.EncoderDecoder',
        data_preprocessor=dict(type='mmseg.SegDataPreProcessor',
                               mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
                               size=(32, 32), pad_val=0, seg_pad_val=255),
        backbone=_backbone(out_indices=(0, 1)),
        decode_head=head,
        test_cfg=dict(mode='whole')))
    assert isinstance(model.backbone, MODELS.get('MultiViT'))
    feats = model.extract_feat(torch.randn(2, 3, 32, 32))
    assert [f.shape for f in feats] == [(2, 32, 4, 4)] * 2
    samples = []
    for _ in range(2):
        s = SegDataSample(metainfo=dict(img_shape=(32, 32),
                                        ori_shape=(32, 32),
                                        pad_shape=(32, 32)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 5, (1, 32, 32)))
        samples.append(s)
    data = dict(inputs=[torch.randint(0, 255, (3, 32, 32)).float()
                        for _ in range(2)], data_samples=samples)
    model.train()
    _train_step(model, data)
    model.eval()
    with torch.no_grad():
        out = model.test_step(data)
    assert out[0].pred_sem_seg.data.shape == (1, 32, 32)
    assert out[0].seg_logits.data.shape == (5, 32, 32)


@pytest.mark.parametrize('out_type', ['avg_featmap', 'global'])
def test_stock_mmpretrain_image_classifier_trains_and_predicts(out_type):
    init_default_scope('mmmae')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='mmpretrain.ImageClassifier',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               mean=[123.675, 116.28, 103.53],
                               std=[58.395, 57.12, 57.375], to_rgb=True,
                               num_classes=10),
        backbone=_backbone(out_type=out_type),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=10,
                  in_channels=32,
                  loss=dict(type='mmpretrain.LabelSmoothLoss',
                            label_smooth_val=0.1, mode='original'))))
    samples = [DataSample().set_gt_label(i) for i in (3, 7)]
    data = dict(inputs=[torch.randint(0, 255, (3, 32, 32)).float()
                        for _ in range(2)], data_samples=samples)
    model.train()
    _train_step(model, data)
    model.eval()
    with torch.no_grad():
        out = model.test_step(data)
    assert out[0].pred_score.shape == (10, )
    torch.testing.assert_close(out[0].pred_score.sum(), torch.tensor(1.))
    assert out[1].gt_label.item() == 7
