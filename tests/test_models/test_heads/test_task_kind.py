"""DPT and ConvNeXt heads serving every dense task kind."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.models.heads import TASK_KINDS, get_task_kind
from mmmae.registry import MODELS

SIZE = (8, 8)  # a 2x2 token grid -> stride-4 ConvNeXt / full-res DPT maps


def _convnext(**kwargs):
    cfg = dict(type='ConvNeXtHead', in_channels=32, channels=8, num_blocks=1)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _dpt(**kwargs):
    cfg = dict(type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1),
               channels=16, post_process_channels=(8, 8, 16, 16),
               head_channels=(8, 4), patch_size=4)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _feats(batch=2):
    return (torch.randn(batch, 32, 2, 2), torch.randn(batch, 32, 2, 2))


def _samples(batch=2, **fields):
    out = []
    for i in range(batch):
        s = SegDataSample(metainfo=dict(img_path=f'x/rgb/{i:04d}.png'))
        for name, data in fields.items():
            setattr(s, name, PixelData(data=data[i]))
        out.append(s)
    return out


def _unit_normals(batch=2):
    n = F.normalize(torch.randn(batch, 3, *SIZE), dim=1)
    n[:, :, 0, 0] = 0  # an invalid pixel
    return n


def _binary(batch=2):
    return (torch.rand(batch, 1, *SIZE) > 0.7).long()


@pytest.mark.parametrize('build', [_convnext, _dpt])
def test_normals_head_outputs_unit_vectors_and_l1_loss(build):
    head = build(kind='normals')
    raw = head(_feats())
    assert raw.shape[1] == 3
    gt = _unit_normals()
    losses = head.loss_by_feat(raw, _samples(gt_normals=gt))
    expected = MODELS.build(dict(type='NormalsL1Loss'))(
        F.interpolate(raw, size=SIZE, mode='bilinear'), gt)
    torch.testing.assert_close(losses['loss_normals'], expected)
    pred = head.predict_by_feat(raw, [dict(img_shape=SIZE, pad_shape=SIZE)])
    torch.testing.assert_close(pred.norm(dim=1),
                               torch.ones(2, *SIZE))


@pytest.mark.parametrize('build', [_convnext, _dpt])
@pytest.mark.parametrize('kind,field,pos_weight,name',
                         [('boundary', 'gt_edge', 0.95, 'loss_edge'),
                          ('saliency', 'gt_sal', None, 'loss_sal')])
def test_binary_kinds_use_balanced_bce_and_sigmoid(build, kind, field,
                                                   pos_weight, name):
    head = build(kind=kind)
    raw = head(_feats())
    assert raw.shape[1] == 1
    gt = _binary()
    gt[0, 0, :2] = 255  # ignored
    losses = head.loss_by_feat(raw, _samples(**{field: gt}))
    expected = MODELS.build(
        dict(type='BalancedBinaryCrossEntropyLoss', pos_weight=pos_weight))(
            F.interpolate(raw, size=SIZE, mode='bilinear'), gt)
    assert set(losses) == {name}
    torch.testing.assert_close(losses[name], expected)
    pred = head.predict_by_feat(raw, [dict(img_shape=SIZE, pad_shape=SIZE)])
    torch.testing.assert_close(
        pred, F.interpolate(raw, size=SIZE, mode='bilinear').sigmoid())


def test_parts_head_reads_gt_parts_as_semseg_reads_gt_sem_seg():
    torch.manual_seed(0)
    semseg = _convnext(num_classes=7)
    parts = _convnext(num_classes=7, kind='parts')
    parts.load_state_dict(semseg.state_dict())
    feats = _feats()
    labels = torch.randint(0, 7, (2, 1, *SIZE))
    labels[1, 0, 0] = 255
    a = semseg.loss(feats, _samples(gt_sem_seg=labels), None)
    b = parts.loss(feats, _samples(gt_parts=labels), None)
    assert set(a) == set(b) == {'loss_ce', 'acc_seg'}
    for k in a:
        torch.testing.assert_close(a[k], b[k])
    with pytest.raises(KeyError, match=r'0000\.png.*gt_parts'):
        parts.loss(feats, _samples(gt_sem_seg=labels), None)
    assert parts.pred_field == 'pred_parts'


def test_dpt_segmentation_kind_is_ce_with_ignore():
    head = _dpt(kind='parts', num_classes=7)
    raw = head(_feats())
    assert raw.shape[1] == 7
    labels = torch.randint(0, 7, (2, 1, *SIZE))
    labels[0, 0, :4] = 255
    losses = head.loss_by_feat(raw, _samples(gt_parts=labels))
    up = F.interpolate(raw, size=SIZE, mode='bilinear')
    torch.testing.assert_close(
        losses['loss_ce'],
        F.cross_entropy(up, labels.squeeze(1), ignore_index=255))
    assert 'acc_seg' in losses


def test_default_kinds_keep_their_old_behaviour():
    assert _convnext(num_classes=5).kind == 'segmentation'
    depth = _dpt()
    assert depth.kind == 'depth' and depth.out_channels == 1
    assert depth.gt_field == 'gt_depth_map'
    assert [type(loss).__name__ for loss in depth.loss_decode] == \
        ['BerHuLoss']
    assert get_task_kind('semseg') is TASK_KINDS['segmentation']


def test_bad_kind_configs_fail_clearly():
    with pytest.raises(ValueError, match='unknown task kind "edges"'):
        _convnext(kind='edges')
    with pytest.raises(ValueError, match='3 output channels'):
        _convnext(kind='normals', num_classes=4)
    with pytest.raises(ValueError, match='needs num_classes'):
        _dpt(kind='segmentation')
    with pytest.raises(ValueError, match="depth_act='none'"):
        _dpt(kind='normals', depth_act='softplus')
    with pytest.raises(ValueError, match='must start with "gt_"'):
        _convnext(num_classes=5, gt_field='parts')
