"""The NYUv2 fine-tuning configs carry the MultiMAE paper's recipes."""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CFG = osp.join(REPO, 'configs', 'multimae')


def _load(name):
    return Config.fromfile(osp.join(CFG, name))


def _datasets(cfg):
    return [cfg[k].dataset for k in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]


DEPTH_RECIPE = 'multimae_vit-b_depth_8xb16-12k_nyuv2-256x256.py'


def test_depth_recipe():
    """ft_nyu_2000e_multimae-b.yaml with run_finetuning_depth.py's
    defaults."""
    cfg = _load(DEPTH_RECIPE)
    assert set(cfg.model.decode_heads) - {'semseg'} == {'depth'}
    assert cfg.model.decode_heads.semseg is None
    head = cfg.model.decode_heads.depth
    assert head.type == 'MultiMAEDPTHead' and head.loss_decode.type == 'BerHuLoss'
    assert head.depth_act == 'none'  # raw regression
    assert cfg.model.backbone.out_indices == (2, 5, 8, 11)
    assert cfg.model.backbone.drop_path_rate == 0.0  # drop_path_encoder
    assert cfg.model.readout.modalities == ('rgb', )
    opt = cfg.optim_wrapper
    assert (opt.optimizer.lr, opt.optimizer.weight_decay) == (1e-4, 1e-4)
    assert opt.optimizer.betas == (0.9, 0.999)
    assert opt.paramwise_cfg.layer_decay_rate == 0.75
    assert opt.get('type', 'OptimWrapper') == 'OptimWrapper'  # fp32
    assert 'clip_grad' not in opt  # clip_grad: None
    # Batch 128 (reference: 2 GPUs x 64); 795 // 128 = 6 iterations per
    # epoch, so 2000 epochs and a 100-epoch warm-up.
    assert cfg.train_dataloader.batch_size * 8 == 128
    assert cfg.train_cfg.max_iters == 2000 * 6
    warmup, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 100 * 6)
    assert (cosine.begin, cosine.end) == (100 * 6, 2000 * 6)
    assert cosine.eta_min == 0.  # min_lr


def test_depth_recipe_colour_jitter():
    """nyu_transform(color_aug=True): A.ColorJitter(brightness=0.1255,
    contrast=0.4, saturation=[0.5, 1.5], hue=[-0.2, 0.2], p=0.5) then
    A.ToGray(p=0.3), after the flip and before the crop."""
    pipeline = _load(DEPTH_RECIPE).train_dataloader.dataset.pipeline
    types = [t.type for t in pipeline]
    jitter = pipeline[types.index('RGBColorJitter')]
    assert (jitter.brightness, jitter.contrast, jitter.saturation,
            jitter.hue, jitter.prob) == (0.1255, 0.4, 0.5, 0.2, 0.5)
    assert pipeline[types.index('MultiModalRandomGrayscale')].prob == 0.3
    assert types.index('MultiModalRandomFlip') < types.index(
        'RGBColorJitter') < types.index('MultiModalRandomGrayscale') < types.index(
            'MultiModalRandomCrop')
    # The transform draws its factors from the reference's ranges.
    import numpy as np

    from mmmae.registry import TRANSFORMS
    t = TRANSFORMS.build(jitter)
    np.random.seed(0)
    for x, (lo, hi) in ((0.1255, (0.8745, 1.1255)), (0.4, (0.6, 1.4)),
                        (0.5, (0.5, 1.5))):
        draws = np.array([t._factor(x) for _ in range(2000)])
        assert lo <= draws.min() < lo + 0.01 and hi - 0.01 < draws.max() <= hi


def _reference_lr(i, base=1e-4, warmup=600, total=12000, min_lr=0.):
    """run_finetuning_depth.py's lr at iteration i (utils.cosine_scheduler
    with start_warmup_value 0): np.linspace(0, base, warmup), then half a
    cosine from base to min_lr over the remaining iterations."""
    if i < warmup:
        return base * i / (warmup - 1)
    j, n = i - warmup, total - warmup
    return min_lr + 0.5 * (base - min_lr) * (1 + math.cos(math.pi * j / n))


def test_depth_recipe_lr_at_every_iteration_is_the_references():
    from mmengine.registry import PARAM_SCHEDULERS
    cfg = _load(DEPTH_RECIPE)
    base = cfg.optim_wrapper.optimizer.lr
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=opt))
                  for s in cfg.param_scheduler]
    worst = 0.
    for i in range(cfg.train_cfg.max_iters):
        worst = max(worst, abs(opt.param_groups[0]['lr'] - _reference_lr(i)))
        for s in schedulers:
            s.step()
    assert worst < 1e-6 * base


@pytest.mark.parametrize('name,modalities', [
    ('multimae_vit-b_seg-rgb_1xb8-amp-20k_nyuv2-640x640.py', ('rgb', )),
    ('multimae_vit-b_seg-depth_1xb8-amp-20k_nyuv2-640x640.py', ('depth', )),
    ('multimae_vit-b_seg-rgbd_1xb8-amp-20k_nyuv2-640x640.py',
     ('rgb', 'depth')),
    ('multimae_vit-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py', ('rgb', )),
])
def test_semseg_recipes_and_inputs(name, modalities):
    cfg = _load(name)
    assert cfg.model.input_modalities == modalities
    assert tuple(cfg.model.backbone.input_adapters) == modalities
    for ds in _datasets(cfg):
        assert tuple(ds.modalities) == modalities
    assert cfg.model.decode_heads.semseg.type == 'ConvNeXtHead'
    assert cfg.model.backbone.drop_path_rate == 0.1
    opt = cfg.optim_wrapper
    assert opt.type == 'AmpOptimWrapper'
    assert (opt.optimizer.lr, opt.optimizer.weight_decay) == (1e-4, 0.05)
    assert opt.constructor.endswith('LearningRateDecayOptimWrapperConstructor')
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.train_cfg.max_iters == round(200 * 795 / 8)


@pytest.mark.parametrize('name,readout', [
    ('multimae_vit-b_seg-rgb_1xb8-amp-20k_nyuv2-640x640.py', ('rgb', )),
    ('multimae_vit-b_seg-depth_1xb8-amp-20k_nyuv2-640x640.py', ('depth', )),
    # ft_nyu_200e_multimae-b_rgb-depth.yaml: decoder_main_tasks: rgb
    ('multimae_vit-b_seg-rgbd_1xb8-amp-20k_nyuv2-640x640.py', ('rgb', )),
    ('multimae_vit-tiny_seg-rgbd_1xb8-300i_nyuv2synth-64x64.py', ('rgb', )),
    ('multimae_vit-tiny_seg-depth_1xb8-300i_nyuv2synth-64x64.py',
     ('depth', )),
])
def test_heads_read_the_references_main_tasks(name, readout):
    cfg = _load(name)
    assert cfg.model.readout.modalities == readout
    assert cfg.model.readout['mode'] == 'concat'
    # One modality read: the head takes the token width.
    width = 128 if 'vit-tiny' in name else 768
    assert cfg.model.decode_heads.semseg.in_channels == width


def test_multimae_heads_follow_the_reference():
    """No layer scale in any ConvNeXt head; raw depth regression in the
    ViT-B configs (the tiny ones keep softplus and say why)."""
    paths = [p for p in glob.glob(osp.join(CFG, 'multimae_vit-*_nyuv2*.py'))
             if '_pretrain_' not in p]
    # 10 depth / semseg configs + the 5 tiny 4-task ones (joint and twins).
    assert len(paths) == 15
    for path in paths:
        heads = Config.fromfile(path).model.decode_heads
        if heads.get('semseg'):
            assert heads.semseg.layer_scale_init_value == 0., path
        if heads.get('depth'):
            tiny = 'vit-tiny' in path
            assert heads.depth.depth_act == (
                'softplus' if tiny else 'none'), path
    base = osp.join(REPO, 'configs', '_base_', 'models',
                    'multimae_vit-tiny_nyuv2synth.py')
    assert "depth_act='none' restores the reference" in open(base).read()


def test_evaluation_uses_mmseg_metrics_on_the_whole_test_split():
    for path in glob.glob(osp.join(CFG, 'multimae_vit-b_*_nyuv2-*.py')):
        cfg = Config.fromfile(path)
        evaluators = cfg.test_evaluator if isinstance(
            cfg.test_evaluator, list) else [cfg.test_evaluator]
        types = {e.type for e in evaluators}
        heads = {k for k, v in cfg.model.decode_heads.items() if v}
        if 'depth' in heads:
            depth = [e for e in evaluators if e.type == 'mmseg.DepthMetric']
            assert depth and depth[0].crop_type == 'nyu_crop', path
        if 'semseg' in heads:
            assert 'mmseg.IoUMetric' in types, path
        test = cfg.test_dataloader.dataset
        assert test.split == 'test' and test.get('indices') is None, path


def test_tiny_variants_mirror_the_paper_configs():
    tiny = sorted(osp.basename(p) for p in glob.glob(
        osp.join(CFG, 'multimae_vit-tiny_*_nyuv2synth-64x64.py')))
    variants = {n.split('_')[2] for n in tiny} - {'pretrain'}
    assert variants == {'depth', 'depth-seg', 'seg-rgb', 'seg-depth',
                        'seg-rgbd'}
    quick = _load('multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py')
    assert quick.train_cfg.max_iters == 300
    assert quick.train_dataloader.batch_size == 8
    assert quick.model.backbone.init_cfg is None  # no checkpoint needed


@pytest.fixture(scope='module')
def tiny_synth(tmp_path_factory):
    """4 train / 2 test synthetic rooms at the tiny configs' 96 x 128."""
    from mmmae.datasets import generate_synthetic_nyuv2
    root = str(tmp_path_factory.mktemp('synth') / 'nyuv2_synth')
    generate_synthetic_nyuv2(root, num_train=4, num_test=2, seed=5)
    return root


@pytest.mark.parametrize('name,metrics', [
    ('multimae_vit-tiny_depth_1xb8-300i_nyuv2synth-64x64.py', {'d1'}),
    ('multimae_vit-tiny_seg-rgb_1xb8-300i_nyuv2synth-64x64.py', {'mIoU'}),
    ('multimae_vit-tiny_seg-depth_1xb8-300i_nyuv2synth-64x64.py', {'mIoU'}),
    ('multimae_vit-tiny_seg-rgbd_1xb8-300i_nyuv2synth-64x64.py', {'mIoU'}),
    ('multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py',
     {'d1', 'mIoU'}),
])
def test_tiny_variant_trains_and_tests_on_synthetic_data(
        name, metrics, tiny_synth, tmp_path):
    """Each tiny variant runs end to end on the CPU: two training steps
    through the Runner, then its test loop with the mmseg metrics."""
    from mmengine.runner import Runner
    cfg = _load(name)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = tiny_synth
        cfg[key].update(num_workers=0, persistent_workers=False,
                        batch_size=2)
    cfg.train_cfg.update(max_iters=2, val_interval=2)
    cfg.default_hooks.checkpoint.interval = 10**6  # only the last one
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    before = {k: v.detach().clone()
              for k, v in runner.model.state_dict().items()}
    runner.train()
    after = runner.model.state_dict()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any(k.startswith('backbone.') for k in changed), name
    for task in cfg.model.decode_heads:
        if cfg.model.decode_heads[task] is not None:
            assert any(k.startswith(f'decode_heads.{task}.')
                       for k in changed), (name, task)
    results = runner.test()
    assert metrics <= set(results), (name, results)
    for key in metrics:
        assert torch.isfinite(torch.tensor(float(results[key]))), results
