import math

import numpy as np
import pytest
import torch

from mmmae.registry import METRICS


def _normals(vectors):
    """(N, 3) vectors -> (3, 1, N) map."""
    return torch.tensor(vectors, dtype=torch.float32).T[:, None, :]


def _run(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_hand_computed_statistics(make_sample):
    gt = _normals([[0, 0, 1]] * 6)
    gt[:, 0, 4] = 255  # ignored
    gt[:, 0, 5] = 0  # zero vector: ignored
    pred = _normals([[0, 0, 1], [1, 0, 1], [0, 3, 0], [0, 0, -2],
                     [1, 0, 0], [1, 0, 0]])
    m = _run(METRICS.build(dict(type='NormalsMetric')),
             [make_sample(pred_normals=pred, gt_normals=gt)])
    angles = np.array([0, 45, 90, 180.])
    assert m['mean'] == pytest.approx(angles.mean(), abs=1e-6)
    assert m['median'] == pytest.approx(67.5, abs=0.01)
    assert m['rmse'] == pytest.approx(math.sqrt((angles**2).mean()),
                                      abs=1e-6)
    assert (m['11.25'], m['22.5'], m['30']) == (25.0, 25.0, 25.0)


def test_statistics_pool_pixels_over_the_dataset(make_sample):
    z = [0, 0, 1]
    tilt = [math.sin(math.radians(40)), 0, math.cos(math.radians(40))]
    small = [math.sin(math.radians(10)), 0, math.cos(math.radians(10))]
    samples = [make_sample('a.png', pred_normals=_normals([small]),
                           gt_normals=_normals([z])),
               make_sample('b.png', pred_normals=_normals([tilt] * 3),
                           gt_normals=_normals([z] * 3))]
    m = _run(METRICS.build(dict(type='NormalsMetric')), samples)
    # (10 + 3 * 40) / 4 pixels, not (10 + 40) / 2 images.
    assert m['mean'] == pytest.approx(32.5, abs=1e-4)
    assert m['11.25'] == 25.0 and m['30'] == 25.0


def test_matches_astmt_arccos_protocol_on_random_maps(make_sample):
    """ASTMT/MTI-Net eval_normals: both normalised, arccos(clip(dot)),
    statistics over every valid pixel."""
    g = torch.Generator().manual_seed(0)
    samples, angles = [], []
    for k in range(3):
        gt = torch.nn.functional.normalize(torch.randn(3, 8, 9, generator=g),
                                           dim=0)
        gt[:, :2, :2] = 255
        pred = gt + 0.4 * torch.randn(3, 8, 9, generator=g)
        samples.append(make_sample(f'{k}.png', pred_normals=pred,
                                   gt_normals=gt))
        valid = (gt != 255).all(0)
        p = torch.nn.functional.normalize(pred.double(), dim=0)[:, valid]
        dot = (p * gt.double()[:, valid]).sum(0).clamp(-1, 1)
        angles.append(np.rad2deg(np.arccos(dot.numpy())))
    angles = np.concatenate(angles)
    m = _run(METRICS.build(dict(type='NormalsMetric')), samples)
    assert m['mean'] == pytest.approx(angles.mean(), abs=1e-4)
    assert m['median'] == pytest.approx(np.median(angles), abs=0.01)
    assert m['rmse'] == pytest.approx(np.sqrt((angles**2).mean()), abs=1e-4)
    for t in (11.25, 22.5, 30):
        assert m[f'{t:g}'] == pytest.approx(100 * (angles < t).mean())


def test_keys_are_configurable_and_prefixed(make_sample):
    from mmengine.evaluator import Evaluator
    gt = _normals([[0, 0, 1]])
    ev = Evaluator([dict(type='NormalsMetric'),
                    dict(type='NormalsMetric', pred_key='pred_n2',
                         gt_key='gt_n2', prefix='normals2')])
    ev.process([make_sample(pred_normals=gt, gt_normals=gt,
                            pred_n2=-gt, gt_n2=gt)])
    out = ev.evaluate(1)
    assert out['normals/mean'] == pytest.approx(0, abs=1e-4)
    assert out['normals2/mean'] == pytest.approx(180, abs=1e-4)


def test_bad_input_names_key_and_image(make_sample):
    metric = METRICS.build(dict(type='NormalsMetric'))
    gt = _normals([[0, 0, 1]])
    with pytest.raises(KeyError, match="'pred_normals'.*x.png|x.png.*"
                       "'pred_normals'"):
        metric.process({}, [make_sample('x.png', gt_normals=gt)])
    encoded = _normals([[128, 128, 250]])  # still 0..255
    with pytest.raises(ValueError, match='gt_normals.*x.png.*unit length'):
        metric.process({}, [make_sample('x.png', pred_normals=gt,
                                        gt_normals=encoded)])
    with pytest.raises(ValueError, match=r'\(3, 1, 2\)'):
        metric.process({}, [make_sample('x.png', pred_normals=gt,
                                        gt_normals=_normals([[0, 0, 1]] * 2))])
