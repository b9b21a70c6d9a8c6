import pytest

from mmmae.evaluation.functional import (DEFAULT_TASK_METRICS, delta_m,
                                         format_delta_m_table)


def test_known_numbers_and_signs():
    mt = {'mIoU': 40.0, 'rmse': 0.5, 'normals/mean': 22.0}
    st = {'semseg': {'mIoU': 50.0}, 'depth': {'rmse': 0.6},
          'normals': {'normals/mean': 20.0}}
    specs = {t: DEFAULT_TASK_METRICS[t] for t in st}
    r = delta_m(mt, st, specs)
    # semseg -20 %, depth +16.67 % (lower is better), normals -10 %.
    assert r['tasks']['semseg']['delta'] == pytest.approx(-20.0)
    assert r['tasks']['depth']['delta'] == pytest.approx(100 / 6)
    assert r['tasks']['normals']['delta'] == pytest.approx(-10.0)
    assert r['delta_m'] == pytest.approx((-20 + 100 / 6 - 10) / 3)
    table = format_delta_m_table(r)
    assert 'Δm' in table and '-4.44' in table and 'lower' in table


def test_mti_net_example():
    """The MTI-Net formula on PASCAL-like numbers: mean over 5 tasks of
    +-(mt - st) / st with mIoU (semseg, parts, sal), normals mean, odsF."""
    st = {'semseg': {'mIoU': 66.0}, 'parts': {'parts/mIoU': 60.0},
          'sal': {'sal/mIoU': 66.0}, 'normals': {'normals/mean': 14.0},
          'edge': {'edge/odsF': 72.0}}
    mt = {'mIoU': 63.0, 'parts/mIoU': 61.5, 'sal/mIoU': 66.0,
          'normals/mean': 14.7, 'edge/odsF': 72.9}
    r = delta_m(mt, st, {t: DEFAULT_TASK_METRICS[t] for t in st})
    expected = 100 * ((63 - 66) / 66 + (61.5 - 60) / 60 + 0 -
                      (14.7 - 14) / 14 + (72.9 - 72) / 72) / 5
    assert r['delta_m'] == pytest.approx(expected)


def test_metrics_of_a_task_are_averaged_first():
    st = {'normals': {'normals/mean': 20.0, 'normals/11.25': 40.0},
          'semseg': {'mIoU': 50.0}}
    mt = {'normals/mean': 18.0, 'normals/11.25': 50.0, 'mIoU': 50.0}
    r = delta_m(mt, st, {'normals': [('normals/mean', True),
                                     ('normals/11.25', False)],
                         'semseg': [('mIoU', False)]})
    assert r['tasks']['normals']['delta'] == pytest.approx((10 + 25) / 2)
    assert r['delta_m'] == pytest.approx(17.5 / 2)


def test_errors_name_the_task_and_key():
    st = {'semseg': {'mIoU': 50.0}}
    with pytest.raises(KeyError, match="multi-task run has no metric 'mIoU'"):
        delta_m({}, st, {'semseg': [('mIoU', False)]})
    with pytest.raises(KeyError, match="baseline for task 'depth'"):
        delta_m({'rmse': 1.}, st, {'depth': [('rmse', True)]})
    with pytest.raises(ValueError, match="'semseg' baseline has mIoU = 0"):
        delta_m({'mIoU': 1.}, {'semseg': {'mIoU': 0}},
                {'semseg': [('mIoU', False)]})
