import numpy as np
import pytest
import torch

from mmmae.registry import METRICS


def _map(values):
    return torch.tensor(values, dtype=torch.float32).view(1, 1, -1)


def _run(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_maxf_hand_computed(make_sample):
    # p = .9 .6 .3 .1, gt = 1 0 1 0, beta^2 = .3:
    # t <= .3: P 2/3, R 1 -> .7222; (.3, .6]: P .5, R .5 -> .5;
    # (.6, .9]: P 1, R .5 -> 1.3 * .5 / (.3 + .5) = .8125; > .9: 0.
    s = make_sample(pred_sal=_map([.9, .6, .3, .1]),
                    gt_sal=_map([1, 0, 1, 0]))
    m = _run(METRICS.build(dict(type='SaliencyMetric')), [s])
    assert m['maxF'] == pytest.approx(81.25)


def test_maxf_pools_counts_over_the_dataset(make_sample):
    """ATRC/InvPT sum tp, pp and ap over images before the F-measure."""
    a = make_sample('a.png', pred_sal=_map([.9, .9]), gt_sal=_map([1, 0]))
    b = make_sample('b.png', pred_sal=_map([.9, .1, .1, .1]),
                    gt_sal=_map([1, 1, 1, 1]))
    m = _run(METRICS.build(dict(type='SaliencyMetric',
                                maxf_thresholds=[0.5])), [a, b])
    tp, pp, ap = 2, 3, 5
    p, r = tp / pp, tp / ap
    assert m['maxF'] == pytest.approx(100 * 1.3 * p * r / (0.3 * p + r))


def test_miou_is_per_image_then_mean_then_best_threshold(make_sample):
    """MTI-Net: per-image IoU of p > t (1 when both are empty), mean over
    images, max over thresholds."""
    a = make_sample('a.png', pred_sal=_map([.5, .8, .1]),
                    gt_sal=_map([1, 1, 0]))
    b = make_sample('b.png', pred_sal=_map([.1, .1, .1]),
                    gt_sal=_map([0, 0, 0]))
    m = _run(METRICS.build(dict(type='SaliencyMetric',
                                miou_thresholds=[0.5, 0.6])), [a, b])
    # t = .5 (strict): a IoU 1/2, b empty-empty 1 -> .75;
    # t = .6: a 1/2, b 1 -> .75. Both .75.
    assert m['mIoU'] == pytest.approx(75.0)
    m = _run(METRICS.build(dict(type='SaliencyMetric',
                                miou_thresholds=[0.4])), [a, b])
    assert m['mIoU'] == pytest.approx(100.0)


def test_ignore_pixels_and_default_thresholds(make_sample):
    from mmmae.evaluation.functional import MAXF_THRESHOLDS, MIOU_THRESHOLDS
    assert len(MAXF_THRESHOLDS) == 19
    assert MAXF_THRESHOLDS[0] == pytest.approx(0.05)
    assert MIOU_THRESHOLDS == tuple(np.linspace(0.2, 0.9, 15))
    s = make_sample(pred_sal=_map([.9, .9, .1]), gt_sal=_map([1, 255, 0]))
    m = _run(METRICS.build(dict(type='SaliencyMetric')), [s])
    assert m['maxF'] == pytest.approx(100.0) and m['mIoU'] == 100.0


def test_invpt_sigmoid_thresholds_sigmoid_of_the_probability(make_sample):
    p = _map([.32, .22, .9, .05])
    gt = _map([1, 0, 1, 0])
    plain = _run(METRICS.build(dict(type='SaliencyMetric')),
                 [make_sample(pred_sal=p, gt_sal=gt)])
    invpt = _run(METRICS.build(dict(type='SaliencyMetric',
                                    invpt_sigmoid=True)),
                 [make_sample(pred_sal=p, gt_sal=gt)])
    again = _run(METRICS.build(dict(type='SaliencyMetric')),
                 [make_sample(pred_sal=torch.sigmoid(p), gt_sal=gt)])
    assert invpt['maxF'] == pytest.approx(again['maxF'])
    assert plain['maxF'] == pytest.approx(100.0)  # t in (.22, .32]
    # sigmoid squeezes p into [.51, .71]: best is t = .6, P 1, R .5.
    assert invpt['maxF'] == pytest.approx(81.25)


def test_bad_input(make_sample):
    metric = METRICS.build(dict(type='SaliencyMetric'))
    with pytest.raises(ValueError, match="'gt_sal'.*y.png.*not binary"):
        metric.process({}, [make_sample('y.png', pred_sal=_map([.5]),
                                        gt_sal=_map([128]))])
    with pytest.raises(ValueError, match="'pred_sal'.*probability"):
        metric.process({}, [make_sample('y.png', pred_sal=_map([3.]),
                                        gt_sal=_map([1]))])
