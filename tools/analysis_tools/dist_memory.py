"""Memory per process of DDP and of FSDP for one config, on this machine.

    python tools/analysis_tools/dist_memory.py CONFIG [--nproc 2]
        [--strategies ddp fsdp] [--batch-size 1] [--iters 2]
        [--input-size 224 224] [--out result.json] [--cfg-options ...]

For each strategy the tool starts ``--nproc`` processes (gloo on the CPU,
NCCL with one GPU each when there are enough), builds the config's model and
optimizer through mmengine's ``DDPStrategy`` or mmmae's ``FSDPStrategy``
(the config's own ``strategy.model_wrapper`` when it has one, else the block
wrap policy of the FSDP configs), and runs ``--iters`` training steps on a
fake batch (``mmmae.utils.fake_batch``; no data on disk). Each rank reports:

* ``param_mb`` / ``grad_mb`` / ``optim_mb``: bytes of the parameters,
  gradients (measured after backward, before the step) and optimizer state
  this rank holds (its shard under FSDP);
* ``rss_build_mb``: resident memory once the model and optimizer are
  built (FSDP builds the full model on every rank before sharding it);
* ``rss_mb``: resident memory after the last step; ``peak_rss_mb`` the
  process's peak (``ru_maxrss``); on CUDA also ``cuda_peak_mb``.

It prints one row per rank and strategy, then FSDP / DDP ratios of the
rank means. An ``AmpOptimWrapper`` runs as a fp32 ``OptimWrapper`` on the
CPU (mmengine's AMP needs CUDA). Numbers are of this machine and torch.
"""
import argparse
import json
import os
import os.path as osp
import resource
import socket
import sys
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(
    __file__)))))

from mmmae.utils import load_config, register_all_modules  # noqa: E402
from mmmae.utils.atomic_io import atomic_write_text  # noqa: E402

MB = 1024**2
FIELDS = ('param_mb', 'grad_mb', 'optim_mb', 'rss_build_mb', 'rss_mb',
          'peak_rss_mb')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Peak memory per process of DDP vs FSDP for a config')
    parser.add_argument('config')
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--strategies', nargs='+', default=['ddp', 'fsdp'],
                        choices=['ddp', 'fsdp'])
    parser.add_argument('--batch-size', type=int, default=1,
                        help='samples per process')
    parser.add_argument('--iters', type=int, default=2)
    parser.add_argument('--input-size', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='default: the config\'s training size')
    parser.add_argument('--out', help='write the results as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if args.nproc < 1 or args.iters < 1 or args.batch_size < 1:
        parser.error('--nproc, --iters and --batch-size must be >= 1')
    return args


def _rss_mb() -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return float('nan')


def _tensor_mb(tensors) -> float:
    return sum(t.numel() * t.element_size() for t in tensors
               if torch.is_tensor(t)) / MB


def _strategy_cfg(cfg, kind: str, cuda: bool) -> dict:
    if kind == 'ddp':
        wrapper = dict(type='MMDistributedDataParallel',
                       broadcast_buffers=False)
        if not cuda:
            wrapper['device_ids'] = None
        return dict(type='DDPStrategy', model_wrapper=wrapper)
    own = cfg.get('strategy') or {}
    wrapper = dict(own.get('model_wrapper') or dict(
        type='MMFullyShardedDataParallel',
        auto_wrap_policy=dict(type='mmmae.multivit_block_wrap_policy'),
        use_orig_params=True))
    if not cuda:
        wrapper['device_id'] = 'cpu'  # mmmae.utils.launch, _cpu_strategy
    return dict(type='FSDPStrategy', model_wrapper=wrapper)


def _worker(rank: int, args, kind: str, port: int, result_dir: str):
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', 1)))
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(args.nproc))
    cuda = torch.cuda.is_available() and \
        torch.cuda.device_count() >= args.nproc
    if cuda:
        torch.cuda.set_device(rank)
    dist.init_process_group('nccl' if cuda else 'gloo')
    try:
        row = _measure(args, kind, cuda, result_dir)
    finally:
        dist.destroy_process_group()
    row.update(strategy=kind, rank=rank)
    atomic_write_text(osp.join(result_dir, f'{kind}_{rank}.json'),
                      json.dumps(row))


def _measure(args, kind: str, cuda: bool, work_dir: str) -> dict:
    from mmengine.model import is_model_wrapper

    from mmmae.registry import STRATEGIES
    from mmmae.utils.fake_batch import fake_batch, input_size_of
    register_all_modules()
    cfg = load_config(args.config, args.cfg_options)
    torch.manual_seed(0)
    strategy = STRATEGIES.build(
        _strategy_cfg(cfg, kind, cuda),
        default_args=dict(work_dir=work_dir))
    optim = dict(cfg.optim_wrapper)
    if optim.get('type') == 'AmpOptimWrapper' and not cuda:
        optim = dict(type='OptimWrapper', optimizer=optim['optimizer'])
    model, optim_wrapper = strategy.prepare(cfg.model, optim_wrapper=optim)
    inner = model.module if is_model_wrapper(model) else model
    rss_build = _rss_mb()
    size, _ = input_size_of(cfg, inner, args.input_size)
    device = torch.device('cuda' if cuda else 'cpu')
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    model.train()
    grads, losses = 0., []
    for _ in range(args.iters):
        batch = fake_batch(inner, args.batch_size, size, device)
        parsed, _ = inner.parse_losses(model(**batch, mode='loss'))
        optim_wrapper.backward(parsed)
        grads = max(grads, _tensor_mb(p.grad for p in model.parameters()))
        optim_wrapper.step()
        optim_wrapper.zero_grad()
        losses.append(parsed.item())
    state = optim_wrapper.optimizer.state.values()
    row = dict(
        param_mb=_tensor_mb(model.parameters()),
        grad_mb=grads,
        optim_mb=_tensor_mb(v for s in state for v in s.values()),
        rss_build_mb=rss_build,
        rss_mb=_rss_mb(),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss /
        1024,
        params_total=sum(p.numel() for p in inner.parameters())
        if kind == 'ddp' else None,
        losses=losses, input_size=list(size), batch_size=args.batch_size,
        world_size=dist.get_world_size())
    if cuda:
        row['cuda_peak_mb'] = torch.cuda.max_memory_allocated() / MB
    return row


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(args) -> list:
    if not osp.isfile(args.config):
        raise SystemExit(f'dist_memory: config file not found: '
                         f'{args.config}')
    rows = []
    with tempfile.TemporaryDirectory() as result_dir:
        for kind in args.strategies:
            # spawn: every rank starts with an empty heap, so ru_maxrss is
            # this strategy's peak only.
            mp.start_processes(_worker, args=(args, kind, _free_port(),
                                              result_dir),
                               nprocs=args.nproc, start_method='spawn')
            for rank in range(args.nproc):
                with open(osp.join(result_dir, f'{kind}_{rank}.json')) as f:
                    rows.append(json.load(f))
    return rows


def summarize(rows: list) -> dict:
    """Mean of each field over the ranks of each strategy, and FSDP / DDP."""
    means = {}
    for kind in {r['strategy'] for r in rows}:
        mine = [r for r in rows if r['strategy'] == kind]
        means[kind] = {k: sum(r[k] for r in mine) / len(mine)
                       for k in FIELDS}
    ratios = {}
    if 'ddp' in means and 'fsdp' in means:
        ratios = {k: means['fsdp'][k] / means['ddp'][k]
                  for k in FIELDS if means['ddp'][k]}
    return dict(mean=means, fsdp_over_ddp=ratios)


def main(argv=None):
    args = parse_args(argv)
    rows = run(args)
    summary = summarize(rows)
    head = f'{"strategy":8} {"rank":>4} ' + ' '.join(
        f'{k:>12}' for k in FIELDS) + '  losses'
    print(head)
    for r in rows:
        print(f'{r["strategy"]:8} {r["rank"]:>4} ' +
              ' '.join(f'{r[k]:12.1f}' for k in FIELDS) + '  ' +
              ' '.join(f'{v:.4f}' for v in r['losses']))
    if summary['fsdp_over_ddp']:
        print('FSDP / DDP (rank mean): ' + ', '.join(
            f'{k} {v:.3f}' for k, v in summary['fsdp_over_ddp'].items()))
    params = next((r['params_total'] for r in rows if r['params_total']),
                  None)
    if params:
        print(f'model parameters: {params / 1e6:.1f}M')
    if args.out:
        atomic_write_text(args.out, json.dumps(
            dict(config=args.config, nproc=args.nproc, rows=rows,
                 **summary), indent=2))
    return rows, summary


if __name__ == '__main__':
    main()
