"""``cfg.compile``: check that ``torch.compile`` works here before training.

mmengine's Runner compiles ``model.train_step`` when ``cfg.compile`` is
True or a dict of ``torch.compile`` options. When the backend cannot work
on this machine (inductor on the CPU without a C++ compiler, on a GPU
without Triton, a torch without ``torch.compile``), the failure comes at the
first iteration, deep inside dynamo. :func:`resolve_compile` instead tries a
trivial compiled forward and backward in a fresh process (a crash or a hang
cannot take the training process with it) and, when that fails, turns
compilation off with a warning that names the reason; training then runs
eagerly, with the same results.
"""
import logging
import os
import re
import subprocess
import sys
import textwrap
import warnings
from typing import Optional

_PROBE = textwrap.dedent('''
    import torch
    if not hasattr(torch, "compile"):
        raise SystemExit("torch " + torch.__version__ + " has no "
                         "torch.compile (needs torch >= 2.0)")
    fn = torch.compile(lambda x: torch.sin(x) * 2 + 1, backend={backend!r},
                       **{options!r})
    x = torch.randn(16, device={device!r}, requires_grad=True)
    fn(x).sum().backward()
    assert x.grad is not None
''')


def compile_options(compile_cfg) -> Optional[dict]:
    """``cfg.compile`` as ``torch.compile`` keyword arguments; None when
    compilation is off (None / False)."""
    if compile_cfg is None or compile_cfg is False:
        return None
    if compile_cfg is True:
        return {}
    if isinstance(compile_cfg, dict):
        return dict(compile_cfg)
    raise TypeError('cfg.compile must be a bool or a dict of torch.compile '
                    f'options, got {type(compile_cfg).__name__}')


def probe_compile(backend: str = 'inductor',
                  options: Optional[dict] = None,
                  device: Optional[str] = None,
                  timeout: float = 600.) -> Optional[str]:
    """Compile and run a trivial function in a subprocess.

    Args:
        backend (str): ``torch.compile`` backend. Defaults to inductor.
        options (dict, optional): Other ``torch.compile`` keyword arguments
            (``mode``, ``dynamic``, ...).
        device (str, optional): Where to run it; defaults to ``'cuda'``
            when available, else ``'cpu'`` (the device training uses).
        timeout (float): Seconds before giving up.

    Returns:
        None when it works, else the reason (the failure's exception line).
    """
    import torch
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    code = _PROBE.format(backend=backend, options=options or {},
                         device=device)
    try:
        # One compile worker: a pool of them costs more than this
        # function's compile.
        env = dict(os.environ, TORCHINDUCTOR_COMPILE_THREADS='1')
        proc = subprocess.run([sys.executable, '-c', code],
                              capture_output=True, text=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return (f'a trivial torch.compile (backend {backend!r}) did not '
                f'finish in {timeout:.0f} s')
    if proc.returncode == 0:
        return None
    return failure_reason(proc.stderr or proc.stdout, proc.returncode)


# "torch._inductor.exc.InductorError: InvalidCxxCompiler: No working ..."
_EXCEPTION_LINE = re.compile(r'^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*:')


def failure_reason(output: str, returncode: int) -> str:
    """The exception line of a failed probe's output: dynamo ends its
    tracebacks with advice lines, so the last line is not the reason."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line
    return lines[-1] if lines else f'exit status {returncode}'


def resolve_compile(cfg, probe=None) -> Optional[str]:
    """Turn ``cfg.compile`` off, with a warning, when it cannot work here.

    Args:
        cfg (Config): The run's config; ``cfg.compile`` is read and, on
            failure, set to False.
        probe (callable, optional): ``probe(backend, options) -> reason or
            None``; defaults to :func:`probe_compile`.

    Returns:
        The reason compilation was turned off, or None.
    """
    options = compile_options(cfg.get('compile', None))
    if options is None:
        return None
    options = dict(options)
    backend = options.pop('backend', 'inductor')
    reason = (probe or probe_compile)(backend, options)
    if reason is None:
        return None
    from mmengine.logging import print_log
    msg = (f'cfg.compile={cfg.compile!r}: torch.compile with backend '
           f'{backend!r} does not work here ({reason}); training runs '
           'without compilation (eager, same results).')
    # A Python warning for the terminal and the caller, and the run's log.
    warnings.warn(msg, UserWarning, stacklevel=2)
    print_log(msg, logger='current', level=logging.WARNING)
    cfg.compile = False
    return reason


def plain_param_groups(optimizer) -> int:
    """Make an optimizer's param groups plain dicts; returns how many
    changed.

    Optimizer wrapper constructors with per-parameter settings (layer-wise
    lr decay, prompt groups) hand torch their groups through an mmengine
    config, so each group is a ``ConfigDict``; dynamo cannot trace
    ``AdamW.step`` over those (``InternalTorchDynamoError: 'UserDefinedDict
    Variable' object has no attribute 'items'``), and ``cfg.compile``
    compiles the optimizer step with the train step. Call before the
    parameter schedulers are built (they read the live list).
    """
    changed = 0
    for i, group in enumerate(optimizer.param_groups):
        if type(group) is not dict:
            optimizer.param_groups[i] = dict(group)
            changed += 1
    return changed


def make_compile_ready(runner) -> None:
    """Have ``runner`` build optimizers with plain-dict param groups (see
    :func:`plain_param_groups`), before its ``train()`` compiles the train
    step."""
    build = runner.build_optim_wrapper

    def build_plain(optim_wrapper):
        wrapper = build(optim_wrapper)
        wrappers = wrapper.values() if hasattr(wrapper, 'values') else \
            [wrapper]
        for w in wrappers:
            plain_param_groups(w.optimizer)
        return wrapper

    runner.build_optim_wrapper = build_plain
