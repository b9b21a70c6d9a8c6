import pytest
import torch
from mmengine.evaluator import Evaluator


def _normals(vectors):
    return torch.tensor(vectors, dtype=torch.float32).T[:, None, :]


def test_task_metrics_and_delta_m_in_one_evaluator(make_sample):
    ev = Evaluator([dict(
        type='MultiTaskDeltaMetric',
        metrics=[dict(type='mmseg.IoUMetric'), dict(type='NormalsMetric')],
        baselines=dict(semseg={'mIoU': 80.0},
                       normals={'normals/mean': 20.0}))])
    ev.dataset_meta = dict(classes=('a', 'b'))
    z = [0, 0, 1]
    tilt = [0.5 ** 0.5, 0, 0.5 ** 0.5]  # 45 degrees from z
    ev.process([make_sample(pred_sem_seg=torch.tensor([[[0, 1, 1, 1]]]),
                            gt_sem_seg=torch.tensor([[[0, 1, 1, 0]]]),
                            pred_normals=_normals([z, tilt]),
                            gt_normals=_normals([z, z]))])
    out = ev.evaluate(1)
    # mIoU = (1/2 + 2/3) / 2 = 58.33; normals mean 22.5 degrees.
    assert out['mIoU'] == pytest.approx(58.33)
    assert out['normals/mean'] == pytest.approx(22.5, abs=1e-4)
    semseg = 100 * (58.33 - 80) / 80
    normals = -100 * (22.5 - 20) / 20
    assert out['delta_m/semseg'] == pytest.approx(semseg, abs=1e-4)
    assert out['delta_m/normals'] == pytest.approx(normals, abs=1e-3)
    assert out['delta_m'] == pytest.approx((semseg + normals) / 2, abs=1e-3)


def test_config_errors_are_named():
    with pytest.raises(KeyError, match="'foo' has no default metric"):
        Evaluator([dict(type='MultiTaskDeltaMetric',
                        metrics=[dict(type='NormalsMetric')],
                        baselines=dict(foo={'x': 1.0}))])
    with pytest.raises(KeyError, match=r"baseline of 'normals' lacks "
                       r"\['normals/mean'\]"):
        Evaluator([dict(type='MultiTaskDeltaMetric',
                        metrics=[dict(type='NormalsMetric')],
                        baselines=dict(normals={'mean': 20.0}))])
