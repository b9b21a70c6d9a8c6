"""MultiTaskTTAModel merges flipped / scaled views per task kind."""
import copy

import pytest
import torch
import torch.nn.functional as F

from mmmae.registry import MODELS
from test_any_tasks import _batch, _cfg

TASKS = ('semseg', 'depth', 'normals', 'edge')


def _views(inputs, samples):
    """Original, horizontally flipped and 2x-upscaled views, with the
    metainfo the tta_pipeline writes (flip, img_shape)."""
    flipped = [copy.deepcopy(s) for s in samples]
    for s in flipped:
        s.set_metainfo(dict(flip=True, flip_direction='horizontal'))
    big = [copy.deepcopy(s) for s in samples]
    for s in big:
        s.set_metainfo(dict(img_shape=(64, 64), pad_shape=(64, 64)))
    x = inputs['rgb']
    return dict(
        inputs=[inputs, dict(rgb=x.flip(-1)),
                dict(rgb=F.interpolate(x, scale_factor=2.,
                                       mode='bilinear'))],
        data_samples=[samples, flipped, big])


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return MODELS.build(_cfg(TASKS)).eval()


def test_merged_predictions_are_the_mean_of_the_views(model):
    torch.manual_seed(1)
    data = _views(*_batch(2))
    tta = MODELS.build(dict(type='MultiTaskTTAModel', module=model))
    with torch.no_grad():
        merged = tta.test_step(copy.deepcopy(data))
        views = [model.predict(i, copy.deepcopy(s))
                 for i, s in zip(data['inputs'], data['data_samples'])]
        raw_flipped = model.encode_decode(data['inputs'][1])
    assert len(merged) == 2
    for b, out in enumerate(merged):
        per_view = [v[b] for v in views]
        depth = torch.stack([v.pred_depth_map.data for v in per_view])
        torch.testing.assert_close(out.pred_depth_map.data, depth.mean(0))
        normals = torch.stack([v.pred_normals.data for v in per_view])
        torch.testing.assert_close(out.pred_normals.data,
                                   F.normalize(normals.mean(0), dim=0))
        torch.testing.assert_close(out.pred_normals.data.norm(dim=0),
                                   torch.ones(32, 32))
        probs = torch.stack([v.seg_logits.data.softmax(0)
                             for v in per_view]).mean(0)
        torch.testing.assert_close(out.seg_logits.data, probs)
        assert torch.equal(out.pred_sem_seg.data,
                           probs.argmax(0, keepdim=True))
        edge = torch.stack([v.pred_edge.data for v in per_view]).mean(0)
        torch.testing.assert_close(out.pred_edge.data, edge)
        # Ground truth from the first view, untouched.
        assert torch.equal(out.gt_sem_seg.data,
                           data['data_samples'][0][b].gt_sem_seg.data)
        # The flipped view was restored to the image's orientation: depth
        # flipped back, normals' x negated.
        torch.testing.assert_close(per_view[1].pred_depth_map.data,
                                   raw_flipped['depth'][b].flip(-1))
        torch.testing.assert_close(
            per_view[1].pred_normals.data[0],
            -raw_flipped['normals'][b, 0].flip(-1))
    # The views differ, so the mean is not any one of them.
    assert not torch.allclose(merged[0].pred_depth_map.data,
                              views[0][0].pred_depth_map.data)


def test_original_and_flip_views_equal_the_segmentors_flip(model):
    """Two views (original, flipped) give the segmentor's own
    test_cfg.flip result for depth and normals (at the input size)."""
    torch.manual_seed(2)
    inputs, samples = _batch(2)
    data = _views(inputs, samples)
    data = dict(inputs=data['inputs'][:2],
                data_samples=data['data_samples'][:2])
    tta = MODELS.build(dict(type='MultiTaskTTAModel', module=model))
    flip_model = copy.deepcopy(model)
    flip_model.test_cfg.flip = True
    with torch.no_grad():
        merged = tta.test_step(copy.deepcopy(data))
        own = flip_model.predict(inputs, copy.deepcopy(samples))
    for a, b in zip(merged, own):
        torch.testing.assert_close(a.pred_depth_map.data,
                                   b.pred_depth_map.data)
        torch.testing.assert_close(a.pred_normals.data, b.pred_normals.data)


def test_binary_segmentation_head_uses_its_threshold():
    torch.manual_seed(0)
    cfg = _cfg(('semseg', ))
    cfg['decode_heads']['semseg'].update(num_classes=1, threshold=0.3,
                                         out_channels=1)
    cfg['decode_heads']['semseg']['loss_decode'] = dict(
        type='mmseg.CrossEntropyLoss', use_sigmoid=True)
    model = MODELS.build(cfg).eval()
    data = _views(*_batch(1))
    tta = MODELS.build(dict(type='MultiTaskTTAModel', module=model))
    with torch.no_grad():
        out = tta.test_step(copy.deepcopy(data))[0]
        views = [model.predict(i, copy.deepcopy(s))[0]
                 for i, s in zip(data['inputs'], data['data_samples'])]
    probs = torch.stack([v.seg_logits.data for v in views]).mean(0)
    torch.testing.assert_close(out.seg_logits.data, probs)
    assert torch.equal(out.pred_sem_seg.data, (probs > 0.3).long())
