"""AMP dtype switch: the config path picks AmpOptimWrapper with the asked
dtype, and a bf16 autocast train step (CPU autocast) gives the fp32 loss
within bf16 tolerance. fp16 autocast is CUDA-only in mmengine: on the CPU
the test asserts that the fp16 wrapper is chosen and that mmengine refuses
to run it here, rather than skipping."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseDataPreprocessor
from mmengine.optim import build_optim_wrapper

from mmmae.registry import MODELS
from mmmae.utils.amp_dtype import set_amp_dtype
from mmmae.utils.fake_batch import fake_batch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'configs/multimae/'
                'multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py')


def _amp_cfg():
    cfg = Config.fromfile(TINY)
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'
    return cfg


@pytest.fixture
def fake_cuda_check(monkeypatch):
    """AmpOptimWrapper asserts CUDA at build time; its autocast itself runs
    on the CPU (mmengine's ``autocast`` picks the CPU device), and its
    GradScaler disables itself without CUDA."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)


def test_set_amp_dtype_sets_the_wrapper_dtype():
    cfg = _amp_cfg()
    set_amp_dtype(cfg, 'bfloat16')
    assert cfg.optim_wrapper.dtype == 'bfloat16'


def test_set_amp_dtype_on_a_plain_wrapper_names_the_config():
    cfg = Config.fromfile(TINY)
    with pytest.raises(ValueError, match=r'nyuv2synth-64x64.py has '
                       r'optim_wrapper.type=OptimWrapper'):
        set_amp_dtype(cfg, 'bfloat16')
    with pytest.raises(ValueError, match="got 'int8'"):
        set_amp_dtype(_amp_cfg(), 'int8')


def _losses(cfg, batch):
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.data_preprocessor = BaseDataPreprocessor()  # batch is ready
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    log_vars = model.train_step(copy.deepcopy(batch), wrapper)
    return wrapper, torch.as_tensor(log_vars['loss']).item()


def test_bf16_train_step_matches_fp32(fake_cuda_check):
    cfg = Config.fromfile(TINY)
    torch.manual_seed(0)
    batch = fake_batch(MODELS.build(cfg.model), 2, (64, 64), 'cpu')
    _, fp32 = _losses(cfg, batch)
    amp = _amp_cfg()
    set_amp_dtype(amp, 'bfloat16')
    wrapper, bf16 = _losses(amp, batch)
    assert type(wrapper).__name__ == 'AmpOptimWrapper'
    assert wrapper.cast_dtype == torch.bfloat16
    assert bf16 != fp32  # autocast really ran in bf16
    assert bf16 == pytest.approx(fp32, rel=2e-2)


def test_fp16_is_chosen_and_refused_on_the_cpu(fake_cuda_check):
    amp = _amp_cfg()
    set_amp_dtype(amp, 'float16')
    model = MODELS.build(amp.model)
    wrapper = build_optim_wrapper(model, amp.optim_wrapper)
    assert type(wrapper).__name__ == 'AmpOptimWrapper'
    assert wrapper.cast_dtype == torch.float16
    with pytest.raises(AssertionError, match='only support `torch.bfloat16`'):
        with wrapper.optim_context(model):
            pass
