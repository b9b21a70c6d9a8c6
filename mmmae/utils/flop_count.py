"""FLOP and MAC counting shared by ``tools/analysis_tools/benchmark.py`` and
``tools/analysis_tools/get_flops.py``.

Both count with the formulas of ``torch.utils.flop_counter`` (one
multiply-add = 2 FLOPs), with two fixes registered here:

* the CPU flash-attention kernels (``F.scaled_dot_product_attention`` on a
  CPU) get the standard SDPA formulas that torch only has for the CUDA
  kernels, so attention (QK^T and AV) is counted on every device;
* the convolution backward formula takes ``groups`` into account (torch's
  own counts a depthwise convolution's backward about C times too high).

:func:`count_flops` gives the total FLOPs of a callable (forward and
backward). :class:`ModuleMACCounter` attributes the multiply-adds of a
forward to every module on the call stack, for per-module tables in the MAC
convention of OpenMMLab model zoos (mmengine's ``get_model_complexity_info``
reports such MACs as "flops").

What is counted: matrix products (``nn.Linear``, ``matmul``, ``bmm``,
``einsum``), convolutions and transposed convolutions (bias excluded), and
scaled-dot-product attention. What is not: normalisation layers,
activations, softmax outside SDPA, element-wise arithmetic, pooling,
interpolation, embedding look-ups and indexing.
"""
from collections import defaultdict
from typing import Callable, Dict, Iterator, List, Optional

import torch
import torch.utils.flop_counter as flop_counter
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = [
    'register_flop_formulas', 'count_flops', 'ModuleMACCounter',
    'COUNTED_OPS_NOTE'
]

COUNTED_OPS_NOTE = (
    'Counted: matrix products (Linear, matmul, bmm, einsum), convolutions '
    '(bias excluded) and attention (QK^T and AV of scaled-dot-product '
    'attention, fused kernels included). Not counted: normalisation, '
    'activations, element-wise ops, pooling, interpolation, embedding '
    'look-ups. 1 MAC = one multiply-add = 2 FLOPs.')


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


def register_flop_formulas() -> None:
    """Install the two fixes of the module docstring (idempotent)."""
    _register_cpu_sdpa_flops()
    flop_counter.flop_registry[torch.ops.aten.convolution_backward] = \
        flop_counter.shape_wrapper(_grouped_conv_backward_flop)


def count_flops(fn: Callable[[], object]) -> int:
    """Total FLOPs (2 per multiply-add) of the ops ``fn()`` runs, backward
    included if it runs inside ``fn``."""
    register_flop_formulas()
    counter = flop_counter.FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


class _ForwardStack:
    """Names of the modules whose ``forward`` is running.

    Each module's ``forward`` is wrapped by an instance attribute for the
    duration, so calls that bypass ``__call__`` are seen too: mmseg heads
    run ``self.forward(x)`` from ``loss()`` / ``predict()``, which module
    hooks (and torch's ``ModuleTracker``) miss, and would leave the head's
    work to the segmentor.
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self.active: List[str] = []
        self._saved: Dict[nn.Module, Optional[Callable]] = {}

    def _wrap(self, name: str, module: nn.Module) -> Callable:
        inner = module.forward

        def forward(*args, **kwargs):
            self.active.append(name)
            try:
                return inner(*args, **kwargs)
            finally:
                self.active.pop()

        return forward

    def __enter__(self):
        for name, module in self.model.named_modules():
            self._saved[module] = module.__dict__.get('forward')
            module.forward = self._wrap(name, module)
        return self

    def __exit__(self, *exc):
        for module, saved in self._saved.items():
            if saved is None:
                del module.forward
            else:
                module.forward = saved
        self._saved.clear()
        return False


class ModuleMACCounter(TorchDispatchMode):
    """Multiply-adds of a forward, per module (inclusive of submodules).

    Each counted op belongs to the innermost module whose ``forward`` is
    running when it runs (the root, ``''``, for ops outside any), and is
    added to that module and to all its ancestors in the module tree
    (``named_modules()`` paths). Containers that are never called
    (``ModuleList``, ``ModuleDict``) and modules used through other methods
    (a backbone's ``forward_tokens``) thus still sum their children, and a
    module's MACs are exactly its children's plus its own. ``total`` counts
    every op. Counted ops and formulas are those of :func:`count_flops`,
    halved (1 MAC = 2 FLOPs).

    Example::

        with ModuleMACCounter(model) as counter:
            model(x)
        counter.total, counter.macs['backbone.blocks.0.attn']
    """

    def __init__(self, model: nn.Module):
        super().__init__()
        register_flop_formulas()
        self.registry = dict(flop_counter.flop_registry)
        self.stack = _ForwardStack(model)
        self.macs: Dict[str, int] = defaultdict(int)
        self.by_op: Dict[str, int] = defaultdict(int)
        self.total = 0
        self._depth = 0

    def __enter__(self):
        # Re-entered around decompositions: wrap the forwards only once.
        if self._depth == 0:
            self.stack.__enter__()
        self._depth += 1
        return super().__enter__()

    def __exit__(self, *exc):
        try:
            return super().__exit__(*exc)
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.stack.__exit__(*exc)

    def _count(self, packet, out, args, kwargs) -> None:
        flops = self.registry[packet](*args, **kwargs, out_val=out)
        # Every formula counts 2 FLOPs per multiply-add.
        macs = int(flops) // 2
        self.total += macs
        self.by_op[str(packet)] += macs
        name = self.stack.active[-1] if self.stack.active else ''
        while name:
            self.macs[name] += macs
            name = name.rpartition('.')[0]
        self.macs[''] += macs

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        packet = func._overloadpacket
        if packet not in self.registry:
            # A composite op may decompose into counted ones (as
            # FlopCounterMode does).
            with self:
                out = func.decompose(*args, **kwargs)
            if out is not NotImplemented:
                return out
        out = func(*args, **kwargs)
        if packet in self.registry:
            self._count(packet, out, args, kwargs)
        return out

    def rows(self, max_depth: Optional[int] = None) -> Iterator[dict]:
        """Per-module rows in ``named_modules`` order, to ``max_depth``.

        Each row: ``name``, ``depth`` (0 = root), ``params`` (the module's
        parameters, submodules included), ``macs`` (inclusive), ``leaf``.
        A shown module whose shown children do not account for all of its
        MACs or parameters gets a ``'<name> (own)'`` leaf row with the
        remainder (ops in its own forward, parameters it holds directly,
        such as prompt tokens or a position table), so the leaf rows of the
        table sum exactly to the root's totals.
        """
        model = self.stack.model
        modules = dict(model.named_modules())
        limit = float('inf') if max_depth is None else max_depth

        def depth_of(name):
            return 0 if name == '' else name.count('.') + 1

        def emit(name, module):
            depth = depth_of(name)
            children = [(f'{name}.{c}' if name else c, m)
                        for c, m in module.named_children()
                        if modules.get(f'{name}.{c}' if name else c) is m]
            shown = children if depth < limit else []
            params = sum(p.numel() for p in module.parameters())
            yield dict(name=name, depth=depth, params=params,
                       macs=self.macs.get(name, 0),
                       leaf=not shown)
            if not shown:
                return
            child_params = sum(
                p.numel() for _, m in shown for p in m.parameters())
            child_macs = sum(self.macs.get(n, 0) for n, _ in shown)
            own_macs = self.macs.get(name, 0) - child_macs
            own_params = params - child_params
            for child_name, child in shown:
                yield from emit(child_name, child)
            if own_macs or own_params:
                yield dict(name=f'{name or type(model).__name__} (own)',
                           depth=depth + 1, params=own_params,
                           macs=own_macs, leaf=True)

        yield from emit('', model)
