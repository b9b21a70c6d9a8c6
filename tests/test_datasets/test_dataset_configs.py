"""Every dataset base config builds, loads, batches and evaluates."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner
from mmengine.structures import PixelData

from mmmae.datasets.synthetic_nyuv2 import generate_synthetic_nyuv2
from mmmae.registry import MODELS

CFG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                   'datasets')


@pytest.fixture(scope='module')
def nyu_size_root(tmp_path_factory):
    """Synthetic data at NYUv2's 480 x 640, so the NYU crop has pixels."""
    root = str(tmp_path_factory.mktemp('nyu') / 'nyuv2')
    generate_synthetic_nyuv2(root, 1, 2, (480, 640), seed=1)
    return root


def _loader(cfg, root):
    cfg = copy.deepcopy(cfg)
    cfg.dataset.data_root = root
    cfg.update(num_workers=0, persistent_workers=False, batch_size=2)
    if cfg.sampler.type == 'InfiniteSampler':
        cfg.sampler = dict(type='DefaultSampler', shuffle=False)
    return Runner.build_dataloader(cfg, seed=0)


def _fake_predictions(samples):
    """Perfect predictions, at the original size as a segmentor returns."""
    for s in samples:
        if 'gt_sem_seg' in s:
            s.pred_sem_seg = PixelData(
                data=s.gt_sem_seg.data.clamp(max=39))
        if 'gt_depth_map' in s:
            s.pred_depth_map = PixelData(
                data=s.gt_depth_map.data.clamp(min=0.01))
    return [s.to_dict() for s in samples]


@pytest.mark.parametrize('name,targets', [
    ('nyuv2_depth.py', {'gt_depth_map'}),
    ('nyuv2_seg.py', {'gt_sem_seg'}),
    ('nyuv2_depth-seg.py', {'gt_depth_map', 'gt_sem_seg'}),
    ('nyuv2_synth.py', {'gt_depth_map', 'gt_sem_seg'}),
])
def test_nyuv2_configs(name, targets, nyu_size_root, synth_root):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    root = synth_root if 'synth' in name else nyu_size_root
    pre = MODELS.build(cfg.data_preprocessor)
    train = next(iter(_loader(cfg.train_dataloader, root)))
    out = pre(train, training=True)
    crop = tuple(cfg.crop_size)
    assert out['inputs']['rgb'].shape[-2:] == crop
    for s in out['data_samples']:
        assert {k for k in targets if k in s} == targets
        for key in targets:
            assert tuple(s.get(key).shape) == crop

    test = next(iter(_loader(cfg.test_dataloader, root)))
    out = pre(test, training=False)
    ori = out['data_samples'][0].ori_shape
    for key in targets:  # ground truth at the original size for the metrics
        assert tuple(out['data_samples'][0].get(key).shape) == ori
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dict(classes=tuple(range(40)))
    evaluator.process(_fake_predictions(out['data_samples']), test)
    metrics = evaluator.evaluate(2)
    if 'gt_sem_seg' in targets:
        assert metrics['mIoU'] == pytest.approx(100.)
    if 'gt_depth_map' in targets:
        assert metrics['d1'] == pytest.approx(1.)
        assert metrics['abs_rel'] < 1e-6


@pytest.mark.parametrize('name', ['multimae_pretrain_folder.py',
                                  'multimae_pretrain_synth.py'])
def test_pretrain_configs(name, synth_root):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    # the synthetic train split has the rgb/ depth/ semseg/ folder layout
    loader_cfg.dataset.update(reduce_zero_label=True, num_classes=40)
    batch = next(iter(_loader(loader_cfg, osp.join(synth_root, 'train'))))
    out = MODELS.build(cfg.data_preprocessor)(batch, training=True)
    size = cfg.img_size
    assert out['inputs']['rgb'].shape == (2, 3, size, size)
    assert out['inputs']['depth'].shape == (2, 1, size, size)
    assert out['inputs']['semseg'].shape == (2, size // 4, size // 4)
    assert out['inputs']['semseg'].dtype == torch.long


@pytest.mark.parametrize('name,layout,fields', [
    ('nyuv2synth_mt.py', None,
     {'gt_sem_seg', 'gt_depth_map', 'gt_normals', 'gt_edge'}),
    ('nyud_mt.py', 'make_nyud_mt',
     {'gt_sem_seg', 'gt_depth_map', 'gt_normals', 'gt_edge'}),
    ('pascal_context_mt.py', 'make_pascal_mt',
     {'gt_sem_seg', 'gt_parts', 'gt_sal', 'gt_normals', 'gt_edge'}),
])
def test_multi_task_configs(name, layout, fields, synth_root, tmp_path):
    """The multi-task base configs load and batch every task's ground truth
    at the crop size, normals unit, boundaries binary."""
    import mt_layouts
    root = synth_root
    if layout is not None:
        root = str(tmp_path / 'data')
        getattr(mt_layouts, layout)(root)
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    crop = tuple(cfg.crop_size)
    if crop[0] > 64:  # the tiny test files: crop them at 8 x 12
        crop = (8, 12)
        for t in cfg.train_dataloader.dataset.pipeline:
            if 'crop_size' in t:
                t.crop_size = crop
            if t.type == 'MultiModalPad':
                t.size = crop
    batch = next(iter(_loader(cfg.train_dataloader, root)))
    for s in batch['data_samples']:
        assert fields <= set(s.keys()), s.keys()
        assert s.metainfo['tasks'] == tuple(
            cfg.train_dataloader.dataset.get('tasks') or
            cfg.train_dataloader.dataset.get('targets'))
        n = s.gt_normals.data
        assert n.shape == (3, ) + crop
        length = n.norm(dim=0)
        valid = length > 0
        torch.testing.assert_close(length[valid],
                                   torch.ones(int(valid.sum())))
        assert set(s.gt_edge.data.unique().tolist()) <= {0, 1, 255}
    val = next(iter(_loader(cfg.val_dataloader, root)))
    assert fields <= set(val['data_samples'][0].keys())
