"""The out-of-tree modality of ``projects/custom_modality``: its config loads
the plugin through ``custom_imports`` (mmmae never imports it), which
registers the ``infrared`` kind; rgb + infrared samples go through the
config's pipeline, preprocessor and model, and a short run trains."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper

from mmmae.datasets import generate_synthetic_nyuv2
from mmmae.datasets.modality_kinds import get_modality_kind
from mmmae.registry import DATASETS, MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO, 'projects', 'custom_modality', 'configs',
    'multimae_vit-tiny_rgb-ir_depth-seg_1xb8-300i_nyuv2synth-64x64.py')


@pytest.fixture(scope='module')
def ir_root(tmp_path_factory):
    """A tiny synthetic NYUv2 (4 train / 2 test) with its ir/ TIFFs."""
    Config.fromfile(CONFIG)  # imports the plugin
    from projects.custom_modality.custom_modality import write_infrared
    root = str(tmp_path_factory.mktemp('ir') / 'nyuv2_synth')
    generate_synthetic_nyuv2(root, num_train=4, num_test=2, size=(64, 80),
                             seed=1)
    for split in ('train', 'test'):
        info = write_infrared(root, split)
        assert info['written'] == info['count'] > 0
    return root


def _cfg(root):
    cfg = Config.fromfile(CONFIG)  # runs custom_imports
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = root
        cfg[key].num_workers = 0
        cfg[key].persistent_workers = False
        cfg[key].batch_size = 2
    return cfg


def test_plugin_registers_the_infrared_kind():
    cfg = Config.fromfile(CONFIG)
    assert cfg.custom_imports['imports'] == [
        'projects.custom_modality.custom_modality']
    kind = get_modality_kind('infrared')
    assert (kind.loader, kind.channels, kind.interpolation,
            kind.dtype) == ('float_tiff', 1, 'bilinear', 'float32')
    assert cfg.model.backbone.input_adapters.ir.in_channels == kind.channels


def test_infrared_images_follow_the_inverse_square_law():
    from projects.custom_modality.custom_modality import \
        infrared_from_rgb_depth
    rgb = np.full((2, 2, 3), 255, np.uint8)
    ir = infrared_from_rgb_depth(rgb, np.array([[2., 4.], [1., 0.]]))
    np.testing.assert_allclose(ir, [[1., 0.25], [4., 0.04]], rtol=1e-6)


def test_samples_carry_ir_from_tiff_to_a_training_step(ir_root):
    cfg = _cfg(ir_root)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(ds) == 4 and ds.metainfo['tasks'] == ('depth', 'semseg')
    item = ds[0]
    ir = item['inputs']['ir']
    assert ir.shape == (1, 64, 64) and ir.dtype == torch.float32
    assert item['data_samples'].metainfo['modality_kinds'] == dict(
        rgb='image', ir='infrared')
    # A test sample (64 x 80: the test resize keeps it) is the TIFF as is.
    test_ds = DATASETS.build(cfg.val_dataloader.dataset)
    on_disk = cv2.imread(test_ds.get_data_info(0)['ir_path'],
                         cv2.IMREAD_UNCHANGED)
    assert on_disk.dtype == np.float32
    np.testing.assert_array_equal(test_ds[0]['inputs']['ir'][0].numpy(),
                                  on_disk)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    batch = pseudo_collate([ds[i] for i in range(2)])
    data = model.data_preprocessor(batch, True)
    kind = get_modality_kind('infrared')
    mean, std = kind.normalize['mean'][0], kind.normalize['std'][0]
    raw = torch.stack(batch['inputs']['ir']).float()
    torch.testing.assert_close(data['inputs']['ir'], (raw - mean) / std)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    adapter = model.backbone.input_adapters['ir'].proj.weight
    before = adapter.detach().clone()
    log = model.train_step(batch, wrapper)
    assert all(torch.isfinite(v) for v in log.values())
    assert not torch.equal(adapter, before)  # the ir adapter learns


@pytest.mark.slow
def test_config_trains_a_few_iterations(ir_root, tmp_path):
    from mmengine.runner import Runner
    cfg = _cfg(ir_root)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_iters = 3
    cfg.train_cfg.val_interval = 3
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint.interval = 10 ** 6
    cfg.custom_hooks = []
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val()
    assert runner.iter == 3
    assert {'mIoU', 'd1'} <= set(metrics)


def test_inference_takes_ir_as_a_file_or_an_array(ir_root):
    from mmmae.apis import inference_model, init_model
    cfg = _cfg(ir_root)
    model = init_model(cfg)  # random weights: only the data path matters
    info = DATASETS.build(cfg.val_dataloader.dataset).get_data_info(0)
    ir = cv2.imread(info['ir_path'], cv2.IMREAD_UNCHANGED)
    seen = []
    model.backbone.input_adapters['ir'].register_forward_pre_hook(
        lambda m, a: seen.append(a[0].detach().clone()))
    by_file = inference_model(model, dict(rgb=info['rgb_path'],
                                          ir=info['ir_path']))
    by_array = inference_model(model, dict(rgb=info['rgb_path'], ir=ir))
    assert by_file.pred_depth_map.data.shape == (1, 64, 80)
    # Both normalised by the infrared kind (mapped in the config's loader).
    torch.testing.assert_close(seen[0], seen[1])
    kind = get_modality_kind('infrared')
    raw = torch.from_numpy(ir)
    torch.testing.assert_close(
        seen[0][0, 0, :64, :80],
        (raw - kind.normalize['mean'][0]) / kind.normalize['std'][0])
    torch.testing.assert_close(by_file.pred_depth_map.data,
                               by_array.pred_depth_map.data)
