import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'configs/multimae/'
                'multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py')


def _tool():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py')
    spec = importlib.util.spec_from_file_location('benchmark', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sdpa_flops_are_counted_on_cpu():
    bench = _tool()
    q = torch.randn(2, 4, 16, 8)
    flops = bench.count_flops(lambda: F.scaled_dot_product_attention(q, q, q))
    # QK^T and AV: 2 matmuls of B*H*N*N*Dh FMAs, 2 FLOPs each.
    assert flops == 2 * 2 * (2 * 4 * 16 * 16 * 8)


def test_depthwise_conv_backward_is_not_overcounted():
    bench = _tool()
    conv = torch.nn.Conv2d(16, 16, 7, padding=3, groups=16)
    x = torch.randn(1, 16, 8, 8, requires_grad=True)
    fwd = bench.count_flops(lambda: conv(x))
    assert fwd == 2 * 16 * 8 * 8 * 7 * 7
    # grad-input and grad-weight: one forward's worth each.
    assert bench.count_flops(lambda: conv(x).sum().backward()) == 3 * fwd


def test_benchmark_reports_every_figure(tmp_path):
    bench = _tool()
    out = tmp_path / 'bench.json'
    result = bench.main([TINY, '--batch-size', '2', '--iters', '1',
                         '--warmup', '0', '--device', 'cpu', '--out',
                         str(out)])
    assert out.exists()
    assert result['inputs'] == {'rgb': [2, 3, 64, 64],
                                'depth': [2, 1, 64, 64],
                                'semseg': [2, 16, 16]}
    p = result['params']
    assert p['total'] == p['trainable'] > 0 and p['trainable_pct'] == 100.
    g = result['gflops_per_image']
    assert 0 < g['inference'] < g['train_step']
    assert result['attention']['fused']
    assert not result['attention']['math_fallback']
    for phase in ('train', 'infer'):
        assert result[phase]['images_per_s'] > 0
        assert result[phase]['memory']['peak_mib'] > 0
    # Freezing shows up in the trainable share.
    frozen = bench.main([TINY, '--phases', 'flops', '--cfg-options',
                         'model.backbone.frozen=True'])
    assert 0 < frozen['params']['trainable_pct'] < 100


CONFIGS = osp.join(ROOT, 'configs')


@pytest.mark.parametrize('config,options,input_size,size_from,trainable', [
    # A fine-tuning MultiTaskSegmentor: everything trains.
    ('multimae/multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py',
     [], [64, 64], 'train pipeline crop', 100.),
    # A prompt config on a frozen backbone: a small trainable share.
    ('prompt/vpt-deep_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py',
     [], [64, 64], 'train pipeline crop', None),
    # A CLIP classifier of configs/mmap/ (one prompt group, no grouping
    # file needed); its pipeline has no crop, so the size comes from the
    # CLIP tower (32 px).
    ('mmap/mmap-mt_clip-tiny_l2d2_1xb16-300i_toy-multidomain-32.py',
     ['--cfg-options', 'model.prompt.grouping_file=None'], [32, 32], 'model',
     None),
])
def test_benchmark_runs_any_kind_of_config(config, options, input_size,
                                           size_from, trainable):
    bench = _tool()
    result = bench.main([osp.join(CONFIGS, config), '--batch-size', '2',
                         '--iters', '1', '--warmup', '0', '--device', 'cpu',
                         '--phases', 'flops', 'sdpa', 'train'] + options)
    assert result['input_size'] == input_size
    assert result['input_size_from'] == size_from
    p = result['params']
    if trainable is None:
        assert 0 < p['trainable_pct'] < 100
    else:
        assert p['trainable_pct'] == trainable
    g = result['gflops_per_image']
    assert 0 < g['inference'] < g['train_step']
    assert result['attention']['fused']
    assert not result['attention']['math_fallback']
    assert result['train']['images_per_s'] > 0
