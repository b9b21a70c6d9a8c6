import os.path as osp

import pytest
import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'configs/multimae/'
                'multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py')


@pytest.fixture(scope='module')
def bench(load_tool):
    return load_tool('tools/analysis_tools/benchmark.py')


def test_sdpa_flops_are_counted_on_cpu(bench):
    q = torch.randn(2, 4, 16, 8)
    flops = bench.count_flops(lambda: F.scaled_dot_product_attention(q, q, q))
    # QK^T and AV: 2 matmuls of B*H*N*N*Dh FMAs, 2 FLOPs each.
    assert flops == 2 * 2 * (2 * 4 * 16 * 16 * 8)


def test_depthwise_conv_backward_is_not_overcounted(bench):
    conv = torch.nn.Conv2d(16, 16, 7, padding=3, groups=16)
    x = torch.randn(1, 16, 8, 8, requires_grad=True)
    fwd = bench.count_flops(lambda: conv(x))
    assert fwd == 2 * 16 * 8 * 8 * 7 * 7
    # grad-input and grad-weight: one forward's worth each.
    assert bench.count_flops(lambda: conv(x).sum().backward()) == 3 * fwd


def test_benchmark_reports_every_figure(tmp_path, bench):
    out = tmp_path / 'bench.json'
    result = bench.main([TINY, '--batch-size', '2', '--iters', '1',
                         '--warmup', '0', '--device', 'cpu', '--gemm-size',
                         '256', '--out', str(out)])
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
                                           size_from, trainable, bench):
    result = bench.main([osp.join(CONFIGS, config), '--batch-size', '2',
                         '--iters', '1', '--warmup', '0', '--device', 'cpu',
                         '--phases', 'flops', 'sdpa', 'train',
                         '--gemm-size', '256'] + options)
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


SUMMARY = ('gemm_peak_flops', 'mfu_train', 'mfu_infer',
           'pipeline_samples_per_s', 'decode_floor_samples_per_s',
           'pipeline_to_floor')
SEG_TINY = osp.join(CONFIGS, 'multimae',
                    'multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py')


def test_mfu_fields_are_consistent(tmp_path, bench):
    import json
    out = tmp_path / 'mfu.json'
    result = bench.main([TINY, '--batch-size', '2', '--iters', '2',
                         '--warmup', '1', '--device', 'cpu', '--threads', '1',
                         '--phases', 'train', 'infer', '--gemm-size', '256',
                         '--gemm-reps', '2', '--out', str(out)])
    saved = json.loads(out.read_text())
    for key in SUMMARY:
        assert key in saved
    # No data phase: its fields are present and null.
    assert saved['pipeline_to_floor'] is None
    # flops came along for the MFU although not asked for.
    flops = saved['flops_per_image']
    gemm = saved['gemm']['float32']
    assert gemm['size'] == 256 and gemm['reps'] == 2
    assert saved['gemm_peak_flops'] == gemm['flops_per_s'] > 0
    for phase, kind in (('train', 'train_step'), ('infer', 'inference')):
        r = saved[phase]
        assert r['dtype'] == 'float32'
        expected = flops[kind] * r['images_per_s'] / gemm['flops_per_s']
        assert saved[f'mfu_{phase}'] == r['mfu']
        # images_per_s is rounded to 3 decimals in the JSON.
        assert r['mfu'] == pytest.approx(expected, rel=1e-2)
        assert r['mfu'] > 0
    assert result['mfu_train'] == saved['mfu_train']


def _nyuv2(tmp_path):
    from mmmae.datasets import generate_synthetic_nyuv2
    root = tmp_path / 'nyu'
    generate_synthetic_nyuv2(str(root), num_train=3, num_test=1,
                             size=(48, 64))
    return root


def test_data_phase_measures_pipeline_and_floor(tmp_path, bench):
    import json
    root = _nyuv2(tmp_path)
    out = tmp_path / 'data.json'
    result = bench.main([SEG_TINY, '--phases', 'data', '--data-samples', '4',
                         '--data-warmup', '1', '--out', str(out),
                         '--cfg-options',
                         f'train_dataloader.dataset.data_root={root}'])
    saved = json.loads(out.read_text())
    d = saved['data']
    # Data only: no model was built, no GEMM run.
    assert 'model' not in saved and saved['gemm_peak_flops'] is None
    assert d['dataset'] == 'NYUv2MultiTaskDataset'
    assert d['data_root_key'] == 'train_dataloader.dataset.data_root'
    assert d['num_samples'] == 4 and d['num_items'] == 3
    # rgb input, depth + semseg targets and depth's mask_valid, as read by
    # the loader itself.
    assert d['files_per_sample'] == 4
    assert d['floor_files'].startswith('read by the pipeline')
    assert saved['pipeline_samples_per_s'] == d['pipeline_samples_per_s'] > 0
    assert saved['decode_floor_samples_per_s'] > 0
    assert saved['pipeline_to_floor'] == pytest.approx(
        d['pipeline_samples_per_s'] / d['decode_floor_samples_per_s'])
    names = [t['transform'] for t in d['transforms']]
    assert names[0] == '0:LoadMultiModalFromFile'
    assert names[-1].endswith('PackMultiModalInputs')
    # The transforms account for (nearly) all of the pipeline's time.
    assert 0.5 < sum(t['share'] for t in d['transforms']) <= 1.0
    assert result['pipeline_to_floor'] == saved['pipeline_to_floor']


def test_data_phase_pretrain_folder(tmp_path, bench):
    root = _nyuv2(tmp_path)
    result = bench.main([TINY, '--phases', 'data', '--data-samples', '3',
                         '--data-warmup', '0', '--cfg-options',
                         f'train_dataloader.dataset.data_root={root}/train'])
    d = result['data']
    assert d['dataset'] == 'MultiModalFolderDataset'
    assert d['files_per_sample'] == 3  # rgb, depth, semseg
    assert result['pipeline_to_floor'] > 0


def test_data_phase_missing_folder_names_folder_and_key(tmp_path, bench):
    missing = tmp_path / 'no_such_nyu'
    with pytest.raises(FileNotFoundError) as err:
        bench.main([SEG_TINY, '--phases', 'data', '--cfg-options',
                    f'train_dataloader.dataset.data_root={missing}'])
    msg = str(err.value)
    assert str(missing) in msg
    assert 'train_dataloader.dataset.data_root' in msg
    assert 'synthetic_nyuv2.py --size 480 640' in msg
    # The model phases use fake batches: the missing folder is no error.
    result = bench.main([SEG_TINY, '--phases', 'flops', '--cfg-options',
                         f'train_dataloader.dataset.data_root={missing}'])
    assert result['gflops_per_image']['inference'] > 0


def test_amp_on_cpu_measures_a_peak_per_dtype(bench):
    result = bench.main([TINY, '--batch-size', '2', '--iters', '1',
                         '--warmup', '0', '--device', 'cpu', '--amp',
                         '--phases', 'train', 'infer', '--gemm-size', '128',
                         '--gemm-reps', '1'])
    # mmengine's AMP wrapper needs a GPU: fp32 training, bf16 inference.
    assert result['train']['dtype'] == 'float32'
    assert 'needs a GPU' in result['train']['note']
    assert result['infer']['dtype'] == 'bfloat16'
    assert set(result['gemm']) == {'float32', 'bfloat16'}
    # The summary peak is the train phase's; each MFU uses its own dtype.
    assert result['gemm_peak_flops'] == result['gemm']['float32'][
        'flops_per_s']
    assert result['mfu_infer'] == pytest.approx(
        result['flops_per_image']['inference'] *
        result['infer']['images_per_s'] /
        result['gemm']['bfloat16']['flops_per_s'], rel=1e-2)
