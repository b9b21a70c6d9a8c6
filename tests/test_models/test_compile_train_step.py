"""``cfg.compile=True``: mmengine's Runner compiles ``model.train_step``
(``Runner._maybe_compile``); for the segmentor, the pre-trainer and the
CLIP classifier two compiled train steps give the eager losses and weights.

Slow: inductor compiles the forward, the backward and the optimizer step of
each model on the CPU (needs a C++ compiler, see compile_check.py)."""
import copy
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.model import BaseDataPreprocessor
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from mmmae.registry import MODELS
from mmmae.utils.compile_check import make_compile_ready, probe_compile
from mmmae.utils.fake_batch import fake_batch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'segmentor': ('configs/multimae/'
                  'multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py',
                  (32, 32)),
    'pretrainer': ('configs/multimae/'
                   'multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py',
                   (32, 32)),
    'clip': ('configs/mmap/mmap-mt_clip-tiny_l2d2_1xb16-300i_'
             'toy-multidomain-32.py', (32, 32)),
}


def _run(name, compiled, steps=2):
    path, size = CONFIGS[name]
    cfg = Config.fromfile(osp.join(ROOT, path))
    cfg.compile = compiled
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.data_preprocessor = BaseDataPreprocessor()  # batch is ready
    runner = SimpleNamespace(
        cfg=cfg, model=model, logger=MMLogger.get_current_instance(),
        build_optim_wrapper=lambda c: build_optim_wrapper(model, c))
    if compiled:  # tools/train.py's step before Runner.train()
        make_compile_ready(runner)
    wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    torch.manual_seed(1)
    batch = fake_batch(model, 2, size, 'cpu')
    # mmengine's own code path for cfg.compile
    Runner._maybe_compile(runner, 'train_step')
    assert ('train_step' in vars(model)) == compiled  # the compiled one
    losses = []
    for i in range(steps):
        torch.manual_seed(10 + i)  # the same masks / dropout draws
        log_vars = model.train_step(copy.deepcopy(batch), wrapper)
        losses.append(torch.as_tensor(log_vars['loss']).item())
    lr = max(g['lr'] for g in wrapper.optimizer.param_groups)
    return losses, dict(model.named_parameters()), lr


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_compiled_train_steps_match_eager(name, monkeypatch):
    reason = probe_compile(device='cpu')
    assert reason is None, f'torch.compile does not work here: {reason}'
    monkeypatch.chdir(ROOT)  # configs name repo-relative files
    torch._dynamo.reset()
    eager_losses, eager, lr = _run(name, False)
    # Random ops (masking, dropout) draw from torch's generator as eager.
    import torch._inductor.config as inductor_config
    with inductor_config.patch(fallback_random=True):
        losses, params, _ = _run(name, True)
    assert losses == pytest.approx(eager_losses, rel=1e-4, abs=1e-5)
    assert eager_losses[1] != eager_losses[0]  # the first step trained
    # Key biases get no gradient in exact arithmetic (softmax ignores a
    # shift of the logits): their gradient is rounding noise, which Adam's
    # normalisation turns into steps of up to lr either way; they are left
    # out. Elsewhere Adam also amplifies rounding where a gradient is ~0
    # (measured: at most 0.15% of a tensor's entries off by more than 1e-5,
    # the largest by 1.7e-4 with lr 1e-3), so: 99.5% of the entries within
    # 1e-5 and none off by more than a tenth of the steps' largest move.
    for key, p in eager.items():
        q, p = params[key].detach(), p.detach()
        if key.endswith('qkv.bias'):  # [q, k, v]
            d = p.numel() // 3
            q, p = torch.cat([q[:d], q[2 * d:]]), torch.cat([p[:d], p[2 * d:]])
        elif key.endswith('.kv.bias'):  # [k, v]
            d = p.numel() // 2
            q, p = q[d:], p[d:]
        diff = (q - p).abs()
        assert (diff <= 1e-5).float().mean() >= 0.995, key
        assert diff.max() <= 0.1 * lr * 2, (key, diff.max().item())
