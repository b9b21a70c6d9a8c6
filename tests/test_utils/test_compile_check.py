"""cfg.compile falls back to eager, with a warning naming the reason, when
torch.compile cannot work here."""
import pytest
from mmengine.config import Config

from mmmae.utils.compile_check import (compile_options, failure_reason,
                                       probe_compile, resolve_compile)

DYNAMO_TAIL = """Traceback (most recent call last):
  File "<string>", line 8, in <module>
torch._inductor.exc.InductorError: InvalidCxxCompiler: No working C++ \
compiler found in torch._inductor.config.cpp.cxx: (None, '/no/g++')

Set TORCHDYNAMO_VERBOSE=1 for the internal stack trace (please do this \
especially if you're reporting a bug to PyTorch).
"""


def test_reason_is_the_exception_line_not_dynamos_advice():
    reason = failure_reason(DYNAMO_TAIL, 1)
    assert reason.startswith('torch._inductor.exc.InductorError')
    assert 'No working C++ compiler' in reason
    assert failure_reason('torch 1.13 has no torch.compile\n', 1) == \
        'torch 1.13 has no torch.compile'
    assert failure_reason('', 139) == 'exit status 139'


def test_compile_options():
    assert compile_options(None) is None and compile_options(False) is None
    assert compile_options(True) == {}
    assert compile_options(dict(backend='eager')) == dict(backend='eager')
    with pytest.raises(TypeError, match='cfg.compile must be a bool'):
        compile_options('yes')


def test_a_failing_backend_turns_compile_off_with_the_reason():
    seen = []

    def broken(backend, options):
        seen.append((backend, options))
        return 'InvalidCxxCompiler: No working C++ compiler found'

    cfg = Config(dict(compile=dict(backend='inductor', mode='default')))
    # A warning, not the log stream: which handlers the "current" logger
    # has depends on what ran before in the process.
    with pytest.warns(UserWarning, match=r'No working C\+\+ compiler found'
                      r'\); training runs without compilation'):
        reason = resolve_compile(cfg, probe=broken)
    assert reason == 'InvalidCxxCompiler: No working C++ compiler found'
    assert cfg.compile is False
    assert seen == [('inductor', dict(mode='default'))]


def test_a_working_backend_keeps_compile_and_off_is_not_probed():
    cfg = Config(dict(compile=True))
    assert resolve_compile(cfg, probe=lambda b, o: None) is None
    assert cfg.compile is True
    for off in (None, False):
        cfg = Config(dict(compile=off))
        resolve_compile(cfg, probe=lambda b, o: pytest.fail('probed'))


@pytest.mark.slow
def test_probe_names_a_missing_cxx_compiler(monkeypatch):
    # A real inductor failure: torch reads the C++ compiler from $CXX.
    monkeypatch.setenv('CXX', '/nonexistent/g++')
    reason = probe_compile(device='cpu')
    assert reason is not None
    assert 'C++ compiler' in reason and '/nonexistent/g++' in reason


@pytest.mark.slow
def test_probe_passes_where_compile_works():
    assert probe_compile(backend='eager', device='cpu') is None


def test_compile_ready_runner_builds_plain_param_groups():
    # Layer-decay groups arrive as ConfigDicts, which dynamo cannot trace
    # in AdamW.step (cfg.compile compiles the optimizer step too).
    import os.path as osp
    from types import SimpleNamespace

    from mmengine.optim import build_optim_wrapper

    from mmmae.registry import MODELS
    from mmmae.utils.compile_check import make_compile_ready
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(
        root, 'configs/multimae/'
        'multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py'))
    model = MODELS.build(cfg.model)
    runner = SimpleNamespace(
        build_optim_wrapper=lambda c: build_optim_wrapper(model, c))
    plain = runner.build_optim_wrapper(cfg.optim_wrapper)
    assert any(type(g) is not dict for g in plain.optimizer.param_groups)
    make_compile_ready(runner)
    wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    groups = wrapper.optimizer.param_groups
    assert len(groups) > 1 and all(type(g) is dict for g in groups)
    # the same settings, the same tensors
    for a, b in zip(groups, plain.optimizer.param_groups):
        assert a.keys() == b.keys() and a['lr'] == b['lr']
        assert [p.shape for p in a['params']] == \
            [p.shape for p in b['params']]
