"""The machine's matrix-multiply throughput, the denominator of model FLOP
utilisation (MFU = model FLOPs per second / this peak).

Used by ``tools/analysis_tools/benchmark.py`` (and through it by
``tools/misc/gpu_check.sh``).
"""
import time
from typing import Optional, Union

import torch

__all__ = ['DTYPES', 'gemm_peak_flops', 'mfu']

DTYPES = dict(float32=torch.float32, float16=torch.float16,
              bfloat16=torch.bfloat16)
# A square GEMM large enough to reach the peak: 8192 fills a GPU's tensor
# cores; 2048 already saturates a CPU core's vector units, at ~0.2 s per
# product on one core.
DEFAULT_SIZE = dict(cuda=8192, cpu=2048)


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def gemm_peak_flops(device: Union[str, torch.device] = 'cpu',
                    dtype: Union[str, torch.dtype] = torch.float32,
                    size: Optional[int] = None,
                    warmup: int = 2,
                    reps: int = 5) -> dict:
    """Best-of-``reps`` throughput of one square ``size`` x ``size`` GEMM.

    Args:
        device: Where to multiply (uses the current torch thread count on
            a CPU).
        dtype: float32, float16 or bfloat16 (a torch dtype or its name).
        size (int, optional): Matrix side. Default 8192 on CUDA, 2048 on
            a CPU.
        warmup (int): Untimed products first (kernel selection, caches).
        reps (int): Timed products; the fastest one counts.

    Returns:
        dict: ``flops_per_s`` (2 * size**3 / best seconds), ``size``,
        ``dtype`` (name), ``device``, ``best_s``, ``reps``.
    """
    device = torch.device(device)
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f'gemm dtype "{dtype}" is not one of '
                             f'{sorted(DTYPES)}')
        dtype = DTYPES[dtype]
    size = int(size or DEFAULT_SIZE.get(device.type, 2048))
    if reps < 1:
        raise ValueError(f'reps must be >= 1, got {reps}')
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    out = torch.empty(size, size, device=device, dtype=dtype)
    for _ in range(warmup):
        torch.mm(a, b, out=out)
    _sync(device)
    best = float('inf')
    for _ in range(reps):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        _sync(device)
        best = min(best, time.perf_counter() - start)
    name = next(k for k, v in DTYPES.items() if v == dtype)
    return dict(flops_per_s=2. * size**3 / best, size=size, dtype=name,
                device=str(device), best_s=best, reps=reps)


def mfu(flops_per_image: float, images_per_s: float,
        peak_flops_per_s: float) -> float:
    """Model FLOP utilisation: achieved model FLOPs per second / peak."""
    if peak_flops_per_s <= 0:
        raise ValueError(f'peak must be positive, got {peak_flops_per_s}')
    return flops_per_image * images_per_s / peak_flops_per_s
