"""Distributed launch on machines without CUDA (gloo).

mmengine's ``init_dist`` always calls ``torch.cuda.set_device``, which fails
without a GPU, and the Runner wraps the model with ``device_ids=[rank]``,
which DDP rejects for CPU modules. The Runner only calls ``init_dist`` when
no process group exists, so the tools start the gloo group themselves and
ask for ``MMDistributedDataParallel(device_ids=None)``.
"""
import os
import subprocess

import torch
import torch.distributed as dist
from mmengine.config import Config


def _rank_env_from_launcher(launcher: str) -> None:
    """Fill RANK/WORLD_SIZE/LOCAL_RANK/MASTER_* for ``init_method='env://'``
    from what slurm or mpirun set (torchrun sets them already)."""
    if launcher == 'slurm':
        os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
        os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
        os.environ.setdefault('LOCAL_RANK', os.environ['SLURM_LOCALID'])
        if 'MASTER_ADDR' not in os.environ:
            nodes = os.environ['SLURM_NODELIST']
            os.environ['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {nodes} | head -n1')
        os.environ.setdefault('MASTER_PORT', '29500')
    elif launcher == 'mpi':
        os.environ.setdefault('RANK', os.environ['OMPI_COMM_WORLD_RANK'])
        os.environ.setdefault('WORLD_SIZE', os.environ['OMPI_COMM_WORLD_SIZE'])
        os.environ.setdefault('LOCAL_RANK',
                              os.environ['OMPI_COMM_WORLD_LOCAL_RANK'])
        os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
        os.environ.setdefault('MASTER_PORT', '29500')


def _cpu_strategy(strategy: dict) -> None:
    """FlexibleRunner's strategies wrap on ``LOCAL_RANK``'s CUDA device:
    FSDP is told the CPU (without a device it refuses: "FSDP needs a non-CPU
    accelerator device"), DDP no device ids, as the Runner's wrapper."""
    from mmengine._strategy import DDPStrategy
    from mmengine._strategy.fsdp import FSDPStrategy

    from mmmae.registry import STRATEGIES
    kind = strategy.get('type')
    cls = STRATEGIES.get(kind) if isinstance(kind, str) else kind
    if not isinstance(cls, type):
        return
    wrapper = dict(strategy.get('model_wrapper') or {})
    if issubclass(cls, FSDPStrategy):
        wrapper.setdefault('type', 'MMFullyShardedDataParallel')
        wrapper['device_id'] = 'cpu'
    elif issubclass(cls, DDPStrategy):
        # mmengine's default wrapper for DDPStrategy.
        wrapper.setdefault('type', 'MMDistributedDataParallel')
        wrapper.setdefault('broadcast_buffers', False)
        wrapper['device_ids'] = None
    else:
        return
    strategy['model_wrapper'] = wrapper


def setup_cpu_distributed(cfg: Config, launcher: str) -> bool:
    """Start a gloo process group and adapt ``cfg`` when ``launcher`` asks
    for distributed running and CUDA is unavailable.

    Args:
        cfg (Config): the run's config; ``env_cfg.dist_cfg.backend`` and
            ``model_wrapper_cfg`` are updated in place.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        bool: True when this function started the group.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    env_cfg = dict(cfg.get('env_cfg') or {})
    env_cfg['dist_cfg'] = dict(env_cfg.get('dist_cfg') or {}, backend='gloo')
    cfg.env_cfg = env_cfg
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if isinstance(cfg.get('strategy'), dict):
        _cpu_strategy(cfg.strategy)
    if dist.is_available() and dist.is_initialized():
        return False
    _rank_env_from_launcher(launcher)
    dist.init_process_group(backend='gloo', init_method='env://')
    return True
