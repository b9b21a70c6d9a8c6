"""Benchmark any mmmae config: throughput and its ratios to the machine's
limits (MFU, data pipeline vs decode floor), peak memory, parameters, FLOPs.

    python tools/analysis_tools/benchmark.py CONFIG [--batch-size 2]
        [--iters 5] [--warmup 2] [--input-size 224 224] [--device cpu]
        [--amp] [--amp-dtype {float16,bfloat16}] [--compile] [--threads N]
        [--phases flops sdpa train infer data] [--gemm-size N]
        [--data-samples 20] [--data-passes 1] [--out result.json]
        [--cfg-options KEY=VALUE ...]

Any config works: MultiMAE pre-training, MultiTaskSegmentor fine-tuning and
prompt configs, and the CLIP classifiers of configs/mmap/. An MmAP config
whose ``grouping_file`` has not been computed yet builds with one group:
``--cfg-options model.prompt.grouping_file=None``.

The model phases run on a fake batch (no data on disk needed;
``mmmae.utils.fake_batch``); the data phase reads the config's files.

* ``flops``: parameters (total, trainable, share) and FLOPs per image
  (``mmmae.utils.flop_count``; one multiply-add = 2 FLOPs) of the inference
  forward and of one training step (forward + backward). Attention (SDPA,
  CPU flash kernels included) is counted; grouped-conv backward is counted
  right. Always run when ``train`` or ``infer`` is, for the MFU, and after
  them: the counting pass's freed memory would raise a CPU phase's peak.
* ``sdpa``: the attention kernels the inference forward calls (torch
  profiler): fused (``_scaled_dot_product_flash_attention[_for_cpu]``,
  ``_efficient_attention``, ``_cudnn_attention``) or the unfused
  ``_scaled_dot_product_attention_math`` fallback, which is flagged.
* ``train``: train-step images/s (forward in ``mode='loss'``, backward and
  optimizer step through the config's ``optim_wrapper``); peak memory.
  On CUDA an ``AmpOptimWrapper`` (or ``--amp``) trains in its dtype
  (``--amp-dtype`` overrides); on a CPU mmengine's AMP wrapper is replaced
  by a fp32 ``OptimWrapper`` (reported).
* ``--compile`` (or ``cfg.compile``): the timed train step and inference
  run through ``torch.compile`` (compiled in the warm-up iterations; a
  backend that cannot work here falls back to eager, reported:
  ``mmmae.utils.compile_check``).
* ``infer``: ``mode='predict'`` (or ``--infer-mode tensor``) images/s under
  ``torch.no_grad`` in eval mode, autocast with ``--amp`` (fp16 on CUDA,
  bf16 on a CPU unless ``--amp-dtype``); peak memory.
* ``data``: the data pipeline (``--data-loader``'s dataset, default the
  train one) in this one process, ``--data-samples`` samples after
  ``--data-warmup``, OpenCV on one thread as in mmengine's data workers,
  beside the decode-only floor: ``cv2.imread(IMREAD_UNCHANGED)`` of the
  same files each sample read (``mmmae.utils.data_speed``). Prints
  pipeline samples/s, floor samples/s, their ratio and each transform's
  share. ``--data-passes N`` runs each sample N times from the same random
  state and counts its fastest run (the figure without interference).
  Point a config at data with ``--cfg-options
  train_dataloader.dataset.data_root=PATH`` (a missing folder is an error
  naming the key); NYUv2-size synthetic data:
  ``python tools/dataset_converters/synthetic_nyuv2.py --size 480 640
  --out /tmp/nyu640`` (pre-training folder configs read ``/tmp/nyu640/train``).

MFU: before the train / infer phases the run measures the machine's matrix
multiply throughput in each phase's dtype (best of ``--gemm-reps`` square
GEMMs of side ``--gemm-size``, default 8192 on CUDA, 2048 on a CPU, after
warm-up; ``mmmae.utils.perf``) and prints model FLOP utilisation =
(FLOPs per image x images/s) / that peak, for the train step (forward +
backward FLOPs) and inference. ``--threads`` sets torch's CPU threads for
the GEMM and the model alike.

Peak memory: CUDA ``max_memory_allocated`` on a GPU; on a CPU the process's
peak resident set size (Linux ``VmHWM``, reset through
``/proc/self/clear_refs`` before each phase), with the RSS before the phase
so the phase's own share can be read off.

``--out`` writes the results as JSON (atomically). Its top level always has
``gemm_peak_flops``, ``mfu_train``, ``mfu_infer``,
``pipeline_samples_per_s``, ``decode_floor_samples_per_s`` and
``pipeline_to_floor`` (null for a phase not run), so runs compare;
the details sit under ``gemm``, ``train``, ``infer``, ``data``.
"""
import argparse
import json
import os.path as osp
import resource
import sys
import time
from typing import Dict, Optional

import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmmae.utils.atomic_io import atomic_write_text  # noqa: E402
from mmmae.utils.fake_batch import fake_batch, input_size_of  # noqa: E402
from mmmae.utils.flop_count import count_flops  # noqa: E402,F401
from mmmae.utils.perf import gemm_peak_flops, mfu  # noqa: E402

FUSED_SDPA = ('_scaled_dot_product_flash_attention',
              '_scaled_dot_product_efficient_attention',
              '_scaled_dot_product_cudnn_attention',
              '_scaled_dot_product_fused_attention')
MATH_SDPA = '_scaled_dot_product_attention_math'
PHASES = ('flops', 'sdpa', 'train', 'infer', 'data')
MODEL_PHASES = ('flops', 'sdpa', 'train', 'infer')
# The fields every JSON output has at its top level (null if not measured).
SUMMARY_KEYS = ('gemm_peak_flops', 'mfu_train', 'mfu_infer',
                'pipeline_samples_per_s', 'decode_floor_samples_per_s',
                'pipeline_to_floor')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--iters', type=int, default=5,
                        help='timed iterations per model phase')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed iterations before each model phase')
    parser.add_argument('--input-size', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='input size; default: the crop of the train '
                        'pipeline, else the size the model was built for')
    parser.add_argument('--device', default=None,
                        help='cpu or cuda (default: cuda if available)')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: autocast in the inference '
                        'phase; on CUDA also an AmpOptimWrapper for '
                        'training (a config\'s AmpOptimWrapper is used on '
                        'CUDA anyway)')
    parser.add_argument('--amp-dtype', choices=['float16', 'bfloat16'],
                        default=None,
                        help='autocast dtype (default: the config\'s '
                        'AmpOptimWrapper dtype, else fp16 on CUDA, bf16 on '
                        'a CPU)')
    parser.add_argument('--infer-mode', choices=['predict', 'tensor'],
                        default='predict')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the timed train step and '
                        'inference (as cfg.compile=True, which also turns '
                        'it on; a backend that cannot work here falls back '
                        'to eager, reported); compiling happens in the '
                        'warm-up iterations')
    parser.add_argument('--phases', nargs='+',
                        default=['flops', 'sdpa', 'train', 'infer'],
                        choices=PHASES)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--gemm-size', type=int, default=None,
                        help='side of the square GEMM that measures the '
                        'peak (default 8192 on CUDA, 2048 on a CPU)')
    parser.add_argument('--gemm-reps', type=int, default=5,
                        help='timed GEMMs; the best counts')
    parser.add_argument('--data-samples', type=int, default=20,
                        help='timed samples of the data phase')
    parser.add_argument('--data-warmup', type=int, default=2,
                        help='untimed samples before the data phase')
    parser.add_argument('--data-passes', type=int, default=1,
                        help='runs of each sample from the same random '
                        'state; the fastest counts (pipeline and floor '
                        'alike): the figure without interference')
    parser.add_argument('--data-loader', default='train_dataloader',
                        choices=['train_dataloader', 'val_dataloader',
                                 'test_dataloader'],
                        help='whose dataset the data phase measures')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed of the data phase')
    parser.add_argument('--out', help='also write the results as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='key=value overrides of the config')
    return parser.parse_args(argv)


# ----------------------------------------------------------------- memory
class PeakMemory:
    """Peak memory of one phase (see the module docstring)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.kind = 'cuda max_memory_allocated' if device.type == 'cuda' \
            else 'cpu peak RSS (VmHWM)'

    @staticmethod
    def _status(field: str) -> Optional[int]:
        try:
            with open('/proc/self/status') as f:
                for line in f:
                    if line.startswith(field + ':'):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def __enter__(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.before = torch.cuda.memory_allocated(self.device)
            return self
        self.reset = True
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # resets VmHWM to the current RSS
        except OSError:
            self.reset = False
            self.kind = 'cpu peak RSS of the whole process (ru_maxrss)'
        self.before = self._status('VmRSS')
        return self

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            self.peak = torch.cuda.max_memory_allocated(self.device)
        elif self.reset and self._status('VmHWM') is not None:
            self.peak = self._status('VmHWM')
        else:
            self.peak = resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss * 1024
        return False

    def as_dict(self) -> dict:
        mib = 2**20
        return dict(kind=self.kind, peak_mib=round(self.peak / mib, 1),
                    before_mib=round((self.before or 0) / mib, 1))



# ----------------------------------------------------------------- phases
def _sync(device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def build_optim_wrapper(model, cfg, device, amp: bool = False,
                        amp_dtype: Optional[str] = None) -> tuple:
    """``(wrapper, dtype name, note)`` for the train phase (see the module
    docstring for the AMP rules)."""
    from mmengine.optim import build_optim_wrapper as build
    note = ''
    optim_cfg = cfg.get('optim_wrapper', None)
    if optim_cfg is None:
        optim_cfg = dict(type='OptimWrapper',
                         optimizer=dict(type='AdamW', lr=1e-4))
        note = 'no optim_wrapper in the config: AdamW'
    optim_cfg = optim_cfg.copy()
    is_amp = 'Amp' in str(optim_cfg.get('type', ''))
    if device.type != 'cuda':
        if is_amp or amp:
            note = 'AmpOptimWrapper needs a GPU: fp32 OptimWrapper on the CPU'
        if is_amp:
            optim_cfg['type'] = 'OptimWrapper'
            optim_cfg.pop('loss_scale', None)
            optim_cfg.pop('dtype', None)
        return build(model, optim_cfg), 'float32', note
    if amp and not is_amp:
        optim_cfg['type'] = 'AmpOptimWrapper'
        optim_cfg.setdefault('loss_scale', 'dynamic')
        note = '--amp: AmpOptimWrapper'
        is_amp = True
    if not is_amp:
        return build(model, optim_cfg), 'float32', note
    if amp_dtype:
        optim_cfg['dtype'] = amp_dtype
    wrapper = build(model, optim_cfg)
    dtype = getattr(wrapper, 'cast_dtype', None) or torch.float16
    return wrapper, str(dtype).replace('torch.', ''), note


def infer_dtype(device, amp: bool, amp_dtype: Optional[str]) -> str:
    if not amp:
        return 'float32'
    return amp_dtype or ('float16' if device.type == 'cuda' else 'bfloat16')


def train_step(model, wrapper, data) -> None:
    with wrapper.optim_context(model):
        losses = model(**data, mode='loss')
    parsed, _ = model.parse_losses(losses)
    wrapper.update_params(parsed)


def compiled_fns(cfg, args, result: dict, wrapper) -> tuple:
    """``(train step, inference runner)`` for the timed phases: compiled
    when ``--compile`` or ``cfg.compile`` asks and the backend works here
    (``mmmae.utils.compile_check``), else the eager ones. FLOPs and
    attention kernels are always counted eagerly."""
    from mmmae.utils.compile_check import (compile_options,
                                           plain_param_groups,
                                           resolve_compile)
    if args.compile and not cfg.get('compile', None):
        cfg.compile = True
    asked = compile_options(cfg.get('compile', None)) is not None
    reason = resolve_compile(cfg) if asked else None
    options = compile_options(cfg.get('compile', None))
    result['compile'] = dict(asked=asked, enabled=options is not None,
                             fallback_reason=reason)
    if options is None:
        return train_step, lambda infer: infer()
    plain_param_groups(wrapper.optimizer)  # as tools/train.py does
    step = torch.compile(train_step, **options)
    return step, torch.compile(lambda infer: infer(), **options)


def timed(fn, warmup: int, iters: int, device) -> float:
    for _ in range(warmup):
        fn()
    _sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    _sync(device)
    return time.perf_counter() - start


def attention_kernels(fn, device) -> Dict[str, int]:
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU]
    if device.type == 'cuda':
        activities.append(ProfilerActivity.CUDA)
    with profile(activities=activities) as prof:
        fn()
    calls = {}
    for event in prof.key_averages():
        if 'scaled_dot_product' in event.key:
            calls[event.key] = event.count
    return calls


def data_phase(cfg, args) -> dict:
    from mmmae.utils.data_speed import build_and_measure, cv2_single_thread
    previous = cv2_single_thread()
    try:
        out = build_and_measure(cfg, args.data_loader, args.config,
                                num_samples=args.data_samples,
                                warmup=args.data_warmup, seed=args.seed,
                                passes=args.data_passes)
    finally:
        import cv2
        cv2.setNumThreads(previous)
    out['cv2_threads'] = 'single (cv2.setNumThreads(0))'
    return out


def model_phases(cfg, args, result: dict) -> None:
    from mmengine.logging import MMLogger

    from mmmae.registry import MODELS

    # Keep the optimizer constructor's per-parameter lines out of the report.
    if not MMLogger.check_instance_created('mmmae-benchmark'):
        MMLogger.get_instance('mmmae-benchmark', log_level='WARNING')
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    phases = list(args.phases)
    if ('train' in phases or 'infer' in phases) and 'flops' not in phases:
        phases.append('flops')  # the MFU needs the model's FLOPs
    model = MODELS.build(cfg.model).to(device)
    B = args.batch_size
    size, size_from = input_size_of(cfg, model, args.input_size)
    data = fake_batch(model, B, size, device)

    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    result.update(
        model=type(model).__name__, device=str(device),
        device_name=(torch.cuda.get_device_name(device)
                     if device.type == 'cuda' else
                     f'cpu, {torch.get_num_threads()} threads'),
        batch_size=B, input_size=list(size), input_size_from=size_from,
        inputs={k: list(v.shape) for k, v in data['inputs'].items()}
        if isinstance(data['inputs'], dict) else list(data['inputs'].shape),
        params=dict(total=total, trainable=trainable,
                    trainable_pct=round(100. * trainable / max(total, 1), 3)))

    wrapper, train_dtype, note = build_optim_wrapper(
        model, cfg, device, args.amp, args.amp_dtype)
    infer_dt = infer_dtype(device, args.amp, args.amp_dtype)
    timed_step, timed_infer = compiled_fns(cfg, args, result, wrapper)

    # The peak in each dtype a timed phase computes in.
    dtypes = ([train_dtype] if 'train' in phases else []) + \
        ([infer_dt] if 'infer' in phases else [])
    peaks = {}
    for dt in dict.fromkeys(dtypes):
        peaks[dt] = gemm_peak_flops(device, dt, args.gemm_size,
                                    reps=args.gemm_reps)
    if peaks:
        result['gemm'] = peaks
        result['gemm_peak_flops'] = peaks[dtypes[0]]['flops_per_s']

    def infer(grad: bool = False):
        dtype = getattr(torch, infer_dt)
        with torch.set_grad_enabled(grad), torch.autocast(
                device.type, dtype=dtype, enabled=args.amp):
            return model(**data, mode=args.infer_mode)

    if 'sdpa' in phases:
        model.eval()
        calls = attention_kernels(infer, device)
        fused = {k: v for k, v in calls.items()
                 if any(f in k for f in FUSED_SDPA)}
        result['attention'] = dict(
            kernels=calls, fused=bool(fused),
            math_fallback=any(MATH_SDPA in k for k in calls))

    if 'train' in phases:
        model.train()
        with PeakMemory(device) as mem:
            seconds = timed(lambda: timed_step(model, wrapper, data),
                            args.warmup, args.iters, device)
        ips = train_ips = B * args.iters / seconds
        result['train'] = dict(
            images_per_s=round(ips, 3),
            s_per_iter=round(seconds / args.iters, 4),
            optim_wrapper=type(wrapper).__name__, dtype=train_dtype,
            memory=mem.as_dict())
        if note:
            result['train']['note'] = note

    if 'infer' in phases:
        model.eval()
        with PeakMemory(device) as mem:
            seconds = timed(lambda: timed_infer(infer), args.warmup,
                            args.iters, device)
        ips = infer_ips = B * args.iters / seconds
        result['infer'] = dict(
            mode=args.infer_mode, amp=args.amp, dtype=infer_dt,
            images_per_s=round(ips, 3),
            s_per_iter=round(seconds / args.iters, 4),
            memory=mem.as_dict())

    # FLOPs last: the counting pass's freed activations stay in a CPU
    # process's heap (RSS), which the timed phases' peaks would start from.
    if 'flops' in phases:
        model.eval()
        # Counted with autograd on (same FLOPs, nothing is backpropagated):
        # FlopCounterMode's module tracker hooks every input that requires
        # grad, and a view of a parameter taken under no_grad (a prompt
        # token table indexed per block) has no grad_fn to hook.
        fwd = count_flops(lambda: infer(grad=True))
        model.train()
        step = count_flops(lambda: train_step(model, wrapper, data))
        wrapper.zero_grad()
        result['flops_per_image'] = dict(inference=fwd / B,
                                         train_step=step / B)
        result['gflops_per_image'] = dict(
            inference=round(fwd / B / 1e9, 3),
            train_step=round(step / B / 1e9, 3))
    if 'train' in result:
        result['mfu_train'] = result['train']['mfu'] = mfu(
            result['flops_per_image']['train_step'], train_ips,
            peaks[train_dtype]['flops_per_s'])
    if 'infer' in result:
        result['mfu_infer'] = result['infer']['mfu'] = mfu(
            result['flops_per_image']['inference'], infer_ips,
            peaks[infer_dt]['flops_per_s'])


def benchmark(args) -> dict:
    from mmengine.config import Config

    from mmmae.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = dict(config=args.config, threads=torch.get_num_threads())
    result.update({k: None for k in SUMMARY_KEYS})
    if 'data' in args.phases:
        data = data_phase(cfg, args)
        result['data'] = data
        for key in ('pipeline_samples_per_s', 'decode_floor_samples_per_s',
                    'pipeline_to_floor'):
            result[key] = data[key]
    if any(p in MODEL_PHASES for p in args.phases):
        model_phases(cfg, args, result)
    return result


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1e12, 'T'), (1e9, 'G'), (1e6, 'M')):
        if value >= scale:
            return f'{value / scale:.2f} {prefix}{unit}'
    return f'{value:.3g} {unit}'


def report(result: dict) -> str:
    lines = [f"{result.get('model', 'data pipeline')} from "
             f"{result['config']}"]
    if 'model' in result:
        lines.append(
            f"device: {result['device_name']}, batch {result['batch_size']}"
            f", input {result['input_size']} (from the "
            f"{result['input_size_from']}) -> {result['inputs']}")
        p = result['params']
        lines.append(f"params: {p['total'] / 1e6:.2f} M total, "
                     f"{p['trainable'] / 1e6:.2f} M trainable "
                     f"({p['trainable_pct']}%)")
    for dt, g in result.get('gemm', {}).items():
        lines.append(f"matmul peak ({dt}, {g['size']}^2 GEMM, best of "
                     f"{g['reps']}): {_si(g['flops_per_s'], 'FLOP/s')}")
    if 'gflops_per_image' in result:
        g = result['gflops_per_image']
        lines.append(f"GFLOPs per image: inference {g['inference']}, "
                     f"train step (fwd+bwd) {g['train_step']}")
    if 'attention' in result:
        a = result['attention']
        state = 'fused SDPA' if a['fused'] and not a['math_fallback'] else \
            'WARNING: unfused math SDPA' if a['math_fallback'] else \
            'no SDPA call seen'
        lines.append(f"attention: {state}: {a['kernels']}")
    c = result.get('compile') or {}
    if c.get('asked'):
        lines.append('torch.compile: on' if c['enabled'] else
                     f"torch.compile: OFF, eager ({c['fallback_reason']})")
    for phase in ('train', 'infer'):
        if phase in result:
            r = result[phase]
            m = r['memory']
            lines.append(
                f"{phase} ({r['dtype']}): {r['images_per_s']} images/s "
                f"({r['s_per_iter']} s/iter), MFU {r['mfu']:.3f}, peak "
                f"{m['peak_mib']} MiB [{m['kind']}; {m['before_mib']} MiB "
                'before]' + (f" ({r['note']})" if r.get('note') else ''))
    if 'data' in result:
        d = result['data']
        lines.append(
            f"data ({d['loader']}, {d['dataset']} at {d['data_root']}, "
            f"{d['num_samples']} samples, {d['files_per_sample']:.1f} files "
            "each" + (f", best of {d['passes']} passes"
                      if d.get('passes', 1) > 1 else '') +
            f"): pipeline {d['pipeline_samples_per_s']:.2f} samples/s, "
            f"decode floor {d['decode_floor_samples_per_s']:.2f} samples/s, "
            f"pipeline/floor {d['pipeline_to_floor']:.3f}")
        for t in d['transforms']:
            lines.append(f"  {t['transform']:<32} {t['ms_per_sample']:8.2f} "
                         f"ms/sample {100 * t['share']:5.1f}%")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    result = benchmark(args)
    print(report(result))
    if args.out:
        atomic_write_text(args.out, json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main()
