"""Benchmark any mmmae config: throughput, peak memory, parameters, FLOPs.

    python tools/analysis_tools/benchmark.py CONFIG [--batch-size 2]
        [--iters 5] [--warmup 2] [--input-size 224 224] [--device cpu]
        [--amp] [--out result.json] [--cfg-options KEY=VALUE ...]

Any config works: MultiMAE pre-training, MultiTaskSegmentor fine-tuning and
prompt configs, and the CLIP classifiers of configs/mmap/. An MmAP config
whose ``grouping_file`` has not been computed yet builds with one group:
``--cfg-options model.prompt.grouping_file=None``.

What it measures, on a fake batch (no data on disk needed):

* parameters: total, trainable (``requires_grad``) and their share;
* FLOPs per image (``torch.utils.flop_counter.FlopCounterMode``; one FMA =
  2 FLOPs) of the inference forward and of one training step (forward +
  backward). PyTorch does not count the CPU flash-attention kernels, so this
  tool registers the standard SDPA formulas for them: attention is counted.
  It also replaces torch's convolution-backward formula, which ignores
  ``groups`` and over-counts depthwise convolutions (ConvNeXt heads);
* train-step throughput (images/s): forward in ``mode='loss'``, backward
  and optimizer step through the config's ``optim_wrapper`` (AMP wrappers
  fall back to ``OptimWrapper`` on a CPU, which is reported);
* inference throughput (images/s): ``mode='predict'`` (or ``--infer-mode
  tensor``) under ``torch.no_grad`` in eval mode;
* peak memory of each phase: CUDA ``max_memory_allocated`` on a GPU; on a
  CPU the process's peak resident set size (Linux ``VmHWM``, reset through
  ``/proc/self/clear_refs`` before each phase), with the RSS before the
  phase so the phase's own share can be read off;
* the attention kernels the inference forward calls (torch profiler):
  fused SDPA kernels (``_scaled_dot_product_flash_attention[_for_cpu]``,
  ``_efficient_attention``, ``_cudnn_attention``) or the unfused
  ``_scaled_dot_product_attention_math`` fallback, which is flagged.

The fake batch: a model may define ``fake_batch(batch_size, input_size,
device) -> dict(inputs=..., data_samples=...)`` (already preprocessed);
otherwise, for a model whose ``backbone`` has ``input_adapters`` (MultiViT),
one tensor per adapter in the preprocessed layout (rgb / depth (B, C, H, W)
standardised, semseg (B, H/4, W/4) labels), for the ``input_modalities`` the
model reads if it names them, plus mmseg data samples with ``gt_sem_seg``
and ``gt_depth_map`` (targets of dense heads) and the usual metainfo. The
data preprocessor is not part of the timing.
"""
import argparse
import json
import os.path as osp
import resource
import sys
import time
from typing import Dict, List, Optional

import torch
import torch.utils.flop_counter as flop_counter
from mmengine.config import DictAction
from torch import nn

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmmae.utils.atomic_io import atomic_write_text  # noqa: E402

FUSED_SDPA = ('_scaled_dot_product_flash_attention',
              '_scaled_dot_product_efficient_attention',
              '_scaled_dot_product_cudnn_attention',
              '_scaled_dot_product_fused_attention')
MATH_SDPA = '_scaled_dot_product_attention_math'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--iters', type=int, default=5,
                        help='timed iterations per phase')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed iterations before each phase')
    parser.add_argument('--input-size', type=int, nargs=2, default=None,
                        metavar=('H', 'W'),
                        help='input size; default: the crop of the train '
                        'pipeline, else the size the model was built for')
    parser.add_argument('--device', default=None,
                        help='cpu or cuda (default: cuda if available)')
    parser.add_argument('--amp', action='store_true',
                        help='autocast (fp16 on CUDA, bf16 on CPU) in the '
                        'inference phase; training follows the config\'s '
                        'optim_wrapper')
    parser.add_argument('--infer-mode', choices=['predict', 'tensor'],
                        default='predict')
    parser.add_argument('--phases', nargs='+',
                        default=['flops', 'sdpa', 'train', 'infer'],
                        choices=['flops', 'sdpa', 'train', 'infer'])
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--out', help='also write the results as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='key=value overrides of the config')
    return parser.parse_args(argv)


# ------------------------------------------------------------------ FLOPs
def _register_cpu_sdpa_flops() -> None:
    """Count the CPU flash-attention kernels as their CUDA twins are."""
    aten = torch.ops.aten
    registry = flop_counter.flop_registry
    fwd = aten._scaled_dot_product_flash_attention_for_cpu
    bwd = aten._scaled_dot_product_flash_attention_for_cpu_backward
    if fwd not in registry:

        @flop_counter.register_flop_formula(fwd)
        def _cpu_flash(query_shape, key_shape, value_shape, *args,
                       out_shape=None, **kwargs) -> int:
            return flop_counter.sdpa_flop_count(query_shape, key_shape,
                                                value_shape)

    if bwd not in registry:

        @flop_counter.register_flop_formula(bwd)
        def _cpu_flash_backward(grad_out_shape, query_shape, key_shape,
                                value_shape, *args, out_shape=None,
                                **kwargs) -> int:
            return flop_counter.sdpa_backward_flop_count(
                grad_out_shape, query_shape, key_shape, value_shape)


def _grouped_conv_backward_flop(grad_out_shape, x_shape, w_shape, _bias,
                                _stride, _padding, _dilation, transposed,
                                _output_padding, _groups, output_mask,
                                out_shape=None, **kwargs) -> int:
    """Convolution backward, right for grouped (depthwise) convolutions.

    Each of grad-input and grad-weight takes as many multiply-adds as the
    forward. torch's own formula ignores ``groups`` and counts a depthwise
    7x7 conv's backward about C times too high (65x for C = 64 in a check),
    which inflated a ConvNeXt head's train-step FLOPs several fold.
    """
    forward = flop_counter.conv_flop_count(
        x_shape, w_shape, grad_out_shape, transposed=transposed)
    return forward * (int(bool(output_mask[0])) + int(bool(output_mask[1])))


def _register_conv_backward_flops() -> None:
    flop_counter.flop_registry[torch.ops.aten.convolution_backward] = \
        flop_counter.shape_wrapper(_grouped_conv_backward_flop)


def count_flops(fn) -> int:
    _register_cpu_sdpa_flops()
    _register_conv_backward_flops()
    counter = flop_counter.FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


# -------------------------------------------------------------- fake batch
def _adapter_inputs(model: nn.Module, B: int, H: int, W: int,
                    device) -> Dict[str, torch.Tensor]:
    from mmmae.models.adapters import PatchedInputAdapter, SemSegInputAdapter
    adapters = model.backbone.input_adapters
    names = list(getattr(model, 'input_modalities', None) or adapters)
    inputs = {}
    for name in names:
        adapter = adapters[name]
        if isinstance(adapter, SemSegInputAdapter):
            s = adapter.patch_size // adapter.kernel
            inputs[name] = torch.randint(0, adapter.num_classes,
                                         (B, H // s, W // s), device=device)
        elif isinstance(adapter, PatchedInputAdapter):
            inputs[name] = torch.randn(B, adapter.in_channels, H, W,
                                       device=device)
        else:
            raise TypeError(f'benchmark: no fake input for adapter '
                            f'"{name}" ({type(adapter).__name__}); give the '
                            'model a fake_batch() method')
    # Targets that a pre-trainer decodes without encoding them.
    for dec in getattr(model, 'decoders', {}).values():
        if dec.task not in inputs:
            if dec.stride_level > 1:
                inputs[dec.task] = torch.randint(
                    0, dec.out_channels,
                    (B, H // dec.stride_level, W // dec.stride_level),
                    device=device)
            else:
                inputs[dec.task] = torch.randn(B, dec.out_channels, H, W,
                                               device=device)
    return inputs


def _num_classes(model: nn.Module) -> int:
    """Smallest class count among the heads (labels valid for all)."""
    counts = [
        m.num_classes for name, m in model.named_modules()
        if not name.startswith('backbone')
        and isinstance(getattr(m, 'num_classes', None), int)
        and m.num_classes > 1
    ]
    return min(counts) if counts else 2


def _dense_samples(model: nn.Module, B: int, H: int, W: int,
                   modalities, device) -> List:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    classes = _num_classes(model)
    samples = []
    for _ in range(B):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, classes, (1, H, W), device=device))
        s.gt_depth_map = PixelData(
            data=torch.rand(1, H, W, device=device) * 9.5 + 0.5)
        # The other dense kinds' targets (mmmae/models/heads/task_kind.py).
        s.gt_normals = PixelData(data=torch.nn.functional.normalize(
            torch.randn(3, H, W, device=device), dim=0))
        for field in ('gt_edge', 'gt_sal'):
            s.set_field(PixelData(data=(torch.rand(
                1, H, W, device=device) > 0.9).long()), field)
        s.gt_parts = PixelData(
            data=torch.randint(0, classes, (1, H, W), device=device))
        s.set_metainfo(dict(
            img_shape=(H, W), ori_shape=(H, W), pad_shape=(H, W),
            batch_input_shape=(H, W), padding_size=(0, 0, 0, 0),
            scale_factor=(1., 1.), flip=False, flip_direction=None,
            img_path='fake.png', modalities=tuple(modalities)))
        samples.append(s)
    return samples


def fake_batch(model: nn.Module, batch_size: int, input_size, device
               ) -> dict:
    if hasattr(model, 'fake_batch'):
        return model.fake_batch(batch_size, input_size, device)
    if not hasattr(getattr(model, 'backbone', None), 'input_adapters'):
        raise TypeError(
            f'benchmark cannot build inputs for {type(model).__name__}: it '
            'has neither a fake_batch(batch_size, input_size, device) '
            'method nor a backbone with input_adapters')
    H, W = input_size
    inputs = _adapter_inputs(model, batch_size, H, W, device)
    return dict(inputs=inputs,
                data_samples=_dense_samples(model, batch_size, H, W,
                                            list(inputs), device))


def _pipeline_of(dataset) -> list:
    """The pipeline of a dataset config, looking through wrappers."""
    if not dataset:
        return []
    if dataset.get('pipeline'):
        return list(dataset['pipeline'])
    if dataset.get('dataset'):  # RepeatDataset, ClassBalancedDataset
        return _pipeline_of(dataset['dataset'])
    if dataset.get('datasets'):  # ConcatDataset
        return _pipeline_of(dataset['datasets'][0])
    return []


def _as_hw(value):
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, int) for v in value):
        return tuple(value)
    return None


def config_input_size(cfg):
    """The training crop of the config's train pipeline, (H, W), or None.

    Reads the last transform with a ``crop_size`` (mmseg / mmmae crops,
    (h, w)) or the ``size`` of a random resized crop.
    """
    loader = cfg.get('train_dataloader') or {}
    size = None
    for t in _pipeline_of(loader.get('dataset')):
        kind = str(t.get('type', ''))
        if 'crop_size' in t and _as_hw(t['crop_size']):
            size = _as_hw(t['crop_size'])
        elif 'ResizedCrop' in kind and _as_hw(t.get('size')):
            size = _as_hw(t['size'])
        elif 'ResizedCrop' in kind and isinstance(t.get('scale'), int):
            size = _as_hw(t['scale'])  # mmpretrain: scale is the side
    return size


def default_input_size(model: nn.Module):
    """The size the model was built for: a MultiViT's stored position grid,
    else the first submodule with ``grid_size`` and ``patch_size`` (the CLIP
    image tower), else 224 x 224."""
    adapters = getattr(getattr(model, 'backbone', None), 'input_adapters',
                       None)
    if adapters:
        first = next(iter(adapters.values()))
        return tuple(int(s) * first.patch_size
                     for s in first.pos_embed.shape[-2:])
    for module in model.modules():
        grid = getattr(module, 'grid_size', None)
        patch = getattr(module, 'patch_size', None)
        if isinstance(grid, (tuple, list)) and len(grid) == 2 and \
                isinstance(patch, int):
            return (int(grid[0]) * patch, int(grid[1]) * patch)
    return (224, 224)


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


def build_optim_wrapper(model, cfg, device) -> tuple:
    from mmengine.optim import build_optim_wrapper as build
    note = ''
    optim_cfg = cfg.get('optim_wrapper', None)
    if optim_cfg is None:
        optim_cfg = dict(type='OptimWrapper',
                         optimizer=dict(type='AdamW', lr=1e-4))
        note = 'no optim_wrapper in the config: AdamW'
    optim_cfg = optim_cfg.copy()
    if device.type != 'cuda' and 'Amp' in str(optim_cfg.get('type', '')):
        optim_cfg['type'] = 'OptimWrapper'
        optim_cfg.pop('loss_scale', None)
        optim_cfg.pop('dtype', None)
        note = 'AmpOptimWrapper needs a GPU: fp32 OptimWrapper on the CPU'
    return build(model, optim_cfg), note


def train_step(model, wrapper, data) -> None:
    with wrapper.optim_context(model):
        losses = model(**data, mode='loss')
    parsed, _ = model.parse_losses(losses)
    wrapper.update_params(parsed)


def _autocast(device, enabled):
    dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype, enabled=enabled)


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


def benchmark(args) -> dict:
    from mmengine.config import Config

    from mmengine.logging import MMLogger

    from mmmae.registry import MODELS
    from mmmae.utils import register_all_modules
    register_all_modules()
    # Keep the optimizer constructor's per-parameter lines out of the report.
    MMLogger.get_instance('mmmae-benchmark', log_level='WARNING')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    model = MODELS.build(cfg.model).to(device)
    B = args.batch_size
    if args.input_size:
        size, size_from = tuple(args.input_size), '--input-size'
    elif config_input_size(cfg):
        size, size_from = config_input_size(cfg), 'train pipeline crop'
    else:
        size, size_from = default_input_size(model), 'model'
    data = fake_batch(model, B, size, device)

    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    result = dict(
        config=args.config, model=type(model).__name__, device=str(device),
        device_name=(torch.cuda.get_device_name(device)
                     if device.type == 'cuda' else
                     f'cpu, {torch.get_num_threads()} threads'),
        batch_size=B, input_size=list(size), input_size_from=size_from,
        inputs={k: list(v.shape) for k, v in data['inputs'].items()}
        if isinstance(data['inputs'], dict) else list(data['inputs'].shape),
        params=dict(total=total, trainable=trainable,
                    trainable_pct=round(100. * trainable / max(total, 1), 3)))

    def infer(grad: bool = False):
        with torch.set_grad_enabled(grad), _autocast(device, args.amp):
            return model(**data, mode=args.infer_mode)

    if 'flops' in args.phases:
        model.eval()
        # Counted with autograd on (same FLOPs, nothing is backpropagated):
        # FlopCounterMode's module tracker hooks every input that requires
        # grad, and a view of a parameter taken under no_grad (a prompt
        # token table indexed per block) has no grad_fn to hook.
        fwd = count_flops(lambda: infer(grad=True))
        model.train()
        wrapper, _ = build_optim_wrapper(model, cfg, device)
        step = count_flops(lambda: train_step(model, wrapper, data))
        wrapper.zero_grad()
        result['gflops_per_image'] = dict(
            inference=round(fwd / B / 1e9, 3),
            train_step=round(step / B / 1e9, 3))

    if 'sdpa' in args.phases:
        model.eval()
        calls = attention_kernels(infer, device)
        fused = {k: v for k, v in calls.items()
                 if any(f in k for f in FUSED_SDPA)}
        result['attention'] = dict(
            kernels=calls, fused=bool(fused),
            math_fallback=any(MATH_SDPA in k for k in calls))

    if 'train' in args.phases:
        model.train()
        wrapper, note = build_optim_wrapper(model, cfg, device)
        with PeakMemory(device) as mem:
            seconds = timed(lambda: train_step(model, wrapper, data),
                            args.warmup, args.iters, device)
        result['train'] = dict(
            images_per_s=round(B * args.iters / seconds, 3),
            s_per_iter=round(seconds / args.iters, 4),
            optim_wrapper=type(wrapper).__name__, memory=mem.as_dict())
        if note:
            result['train']['note'] = note

    if 'infer' in args.phases:
        model.eval()
        with PeakMemory(device) as mem:
            seconds = timed(infer, args.warmup, args.iters, device)
        result['infer'] = dict(
            mode=args.infer_mode, amp=args.amp,
            images_per_s=round(B * args.iters / seconds, 3),
            s_per_iter=round(seconds / args.iters, 4),
            memory=mem.as_dict())
    return result


def report(result: dict) -> str:
    lines = [f"{result['model']} from {result['config']}",
             f"device: {result['device_name']}, batch {result['batch_size']}"
             f", input {result['input_size']} (from the "
             f"{result['input_size_from']}) -> {result['inputs']}"]
    p = result['params']
    lines.append(f"params: {p['total'] / 1e6:.2f} M total, "
                 f"{p['trainable'] / 1e6:.2f} M trainable "
                 f"({p['trainable_pct']}%)")
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
    for phase in ('train', 'infer'):
        if phase in result:
            r = result[phase]
            m = r['memory']
            lines.append(
                f"{phase}: {r['images_per_s']} images/s "
                f"({r['s_per_iter']} s/iter), peak {m['peak_mib']} MiB "
                f"[{m['kind']}; {m['before_mib']} MiB before]" +
                (f" ({r['note']})" if r.get('note') else ''))
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
