import pytest
import torch

from mmmae.utils.perf import gemm_peak_flops, mfu


def test_gemm_peak_reports_its_measurement():
    peak = gemm_peak_flops('cpu', 'float32', size=128, warmup=1, reps=3)
    assert peak['size'] == 128 and peak['dtype'] == 'float32'
    assert peak['reps'] == 3 and peak['device'] == 'cpu'
    assert peak['flops_per_s'] == pytest.approx(2 * 128**3 / peak['best_s'])
    assert gemm_peak_flops('cpu', torch.bfloat16, size=64,
                           reps=1)['dtype'] == 'bfloat16'


def test_gemm_peak_rejects_bad_input():
    with pytest.raises(ValueError, match='int8'):
        gemm_peak_flops('cpu', 'int8', size=64)
    with pytest.raises(ValueError, match='reps'):
        gemm_peak_flops('cpu', 'float32', size=64, reps=0)


def test_mfu_is_model_flops_per_second_over_peak():
    assert mfu(2e9, 10., 40e9) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        mfu(1., 1., 0.)
