import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from mmmae.evaluation.functional import boundary_counts, ods_ois
from mmmae.registry import METRICS


def _edge_pair(shift=0, value=1.0, size=40):
    gt = torch.zeros(1, size, size)
    gt[0, 4:36, 10] = 1
    pred = torch.zeros(1, size, size)
    pred[0, 4:36, 10 + shift] = value
    return pred, gt


def test_perfect_and_shifted_predictions_through_the_evaluator(make_sample):
    exact, gt = _edge_pair()
    far, _ = _edge_pair(shift=5)
    ev = Evaluator([dict(type='BoundaryMetric', max_dist=0.011,
                         thresholds=[0.25, 0.5, 0.75])])
    ev.process([make_sample('a.png', pred_edge=exact, gt_edge=gt),
                make_sample('b.png', pred_edge=far, gt_edge=gt)])
    out = ev.evaluate(2)
    # 0.011 * diag(40x40) = 0.62 px: a exact (32 of 32), b missed: P = R
    # = 1/2 over the dataset; per image, b's F is 0 at every threshold.
    assert out['edge/odsF'] == pytest.approx(50.0)
    assert out['edge/oisF'] == pytest.approx(50.0)
    assert out['edge/ods_threshold'] == 0.25


def test_metric_equals_the_functional_counts(make_sample):
    rng = np.random.default_rng(0)
    gt = torch.from_numpy(rng.random((1, 30, 30)) > 0.85).float()
    prob = torch.from_numpy(rng.random((1, 30, 30))).float()
    metric = METRICS.build(dict(type='BoundaryMetric', max_dist=0.05,
                                thresholds=[0.3, 0.6], quantize=False))
    metric.process({}, [make_sample(pred_edge=prob, gt_edge=gt)])
    out = metric.compute_metrics(metric.results)
    c = boundary_counts(prob[0].double().numpy(), gt[0].numpy(), 0.05,
                        [0.3, 0.6])
    ref = ods_ois({k: v[None] for k, v in c.items()}, [0.3, 0.6])
    assert out['odsF'] == pytest.approx(100 * ref['odsF'])
    assert out['oisF'] == pytest.approx(100 * ref['oisF'])


def test_quantised_like_the_saved_pngs(make_sample):
    """Scored as uint8(255 * p) / 255 >= t: 0.2039 is saved as 51, and
    MATLAB reads 51 / 255 as exactly 0.2, so it passes t = 0.2; 0.19999 is
    saved as 50 and fails."""
    for value, passes in ((0.2039, True), (0.19999, False)):
        pred, gt = _edge_pair(value=value)
        metric = METRICS.build(dict(type='BoundaryMetric', max_dist=0.011,
                                    thresholds=[0.2]))
        metric.process({}, [make_sample(pred_edge=pred, gt_edge=gt)])
        assert (metric.results[0]['sumP'][0] > 0) == passes


def test_ignored_gt_pixels_drop_predictions_there(make_sample):
    pred, gt = _edge_pair()
    pred[0, :, 30] = 1  # a false line...
    gt[0, :, 25:] = 255  # ... inside padding
    metric = METRICS.build(dict(type='BoundaryMetric', max_dist=0.011,
                                thresholds=[0.5]))
    metric.process({}, [make_sample(pred_edge=pred, gt_edge=gt)])
    assert metric.compute_metrics(metric.results)['odsF'] == 100.0


def test_bad_input(make_sample):
    pred, gt = _edge_pair()
    metric = METRICS.build(dict(type='BoundaryMetric'))
    with pytest.raises(ValueError, match="'gt_edge' of z.png is not "
                       'binary'):
        metric.process({}, [make_sample('z.png', pred_edge=pred,
                                        gt_edge=gt * 2)])
    with pytest.raises(ValueError, match="'pred_edge'.*probability"):
        metric.process({}, [make_sample('z.png', pred_edge=pred * 5,
                                        gt_edge=gt)])
    with pytest.raises(ValueError, match='fraction of the image diagonal'):
        METRICS.build(dict(type='BoundaryMetric', max_dist=4))
    with pytest.raises(ValueError, match='method must be one of'):
        METRICS.build(dict(type='BoundaryMetric', method='greedy'))


def test_output_dir_gets_the_pngs_seism_reads(make_sample, tmp_path):
    import cv2
    pred, gt = _edge_pair(value=0.5)
    metric = METRICS.build(dict(type='BoundaryMetric', thresholds=[0.5],
                                output_dir=str(tmp_path / 'edge')))
    metric.process({}, [make_sample('/data/img/2008_000123.jpg',
                                    pred_edge=pred, gt_edge=gt)])
    png = cv2.imread(str(tmp_path / 'edge' / '2008_000123.png'),
                     cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint8 and png.max() == 127  # uint8(255 * .5)
    assert (png > 0).sum() == gt.sum()
