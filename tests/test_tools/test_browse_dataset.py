"""tools/analysis_tools/browse_dataset.py on the three dataset families
(NYUv2 dense multi-task, MultiMAE pre-training folders, toy multi-domain
classification): the pictures hold every map of the sample after the
pipeline, pixel for pixel, and bad input names the culprit."""
import os
import os.path as osp
import subprocess
import sys

import mmcv
import numpy as np
import pytest
from mmengine.config import Config

from mmmae.datasets import generate_synthetic_nyuv2
from mmmae.datasets.multi_domain import make_toy_multidomain
from mmmae.datasets.nyuv2_classes import NYUV2_PALETTE
from mmmae.registry import DATASETS, TRANSFORMS
from mmmae.utils import register_all_modules
from mmmae.visualization import colorize_depth, depth_range
from mmmae.visualization import annotate
from mmmae.visualization.browse import Panel, draw_panels, sample_panels

HATCH = set(annotate.HATCH)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MT4 = osp.join(ROOT, 'configs/multimae/multimae_vit-tiny-p8-pt_'
               'seg-depth-normals-edge_1xb8-150i_nyuv2synth-64x64.py')
SEG_DEPTH = osp.join(ROOT, 'configs/multimae/multimae_vit-tiny_depth-seg_'
                     '1xb8-300i_nyuv2synth-64x64.py')
PRETRAIN = osp.join(ROOT, 'configs/multimae/multimae_vit-tiny_pretrain_'
                    '1xb16-300i_nyuv2synth-64x64.py')
TOY = osp.join(ROOT, 'configs/mmap/mmap-mt_clip-tiny_l2d2_1xb16-300i_'
               'toy-multidomain-32.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis_tools/browse_dataset.py')


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('browse')
    generate_synthetic_nyuv2(str(root / 'nyuv2_synth'), num_train=3,
                             num_test=1, size=(48, 64))
    make_toy_multidomain(str(root / 'toy'), images_per_class=2, size=16)
    return root


def _read_rgb(path):
    return mmcv.imread(path, channel_order='rgb')


def _panel(picture, box, scale):
    y0, x0, y1, x1 = box
    return picture[y0:y1:scale, x0:x1:scale]


def _flip_config(tmp_path, data):
    """The 4-task config with a pipeline that always flips."""
    path = tmp_path / 'flip_cfg.py'
    path.write_text(
        f'_base_ = [{MT4!r}]\n'
        'train_dataloader = dict(dataset=dict(\n'
        f'    data_root={str(data / "nyuv2_synth")!r},\n'
        '    pipeline=[dict(type="LoadMultiModalFromFile"),\n'
        '              dict(type="MultiModalRandomFlip", prob=1.0),\n'
        '              dict(type="PackMultiModalInputs")]))\n')
    return str(path)


def test_flipped_sample_keeps_every_map_aligned(data, tmp_path, tool):
    cfg_path = _flip_config(tmp_path, data)
    out = tmp_path / 'pics'
    written = tool.main([cfg_path, '--output-dir', str(out), '--not-show',
                         '--max-samples', '2'])
    assert [osp.basename(p) for p in written] == [
        '00000_000000.png', '00001_000001.png']
    register_all_modules()
    dataset = DATASETS.build(Config.fromfile(cfg_path).train_dataloader
                             .dataset)
    packed = dataset[1]
    assert packed['data_samples'].flip
    panels = sample_panels(packed, dataset.metainfo)
    assert [(p.name, p.role, p.title) for p in panels] == [
        ('rgb', 'input', 'rgb (input)'), ('semseg', 'GT', 'semseg GT'),
        ('depth', 'GT', 'depth GT [m]'),
        ('normals', 'GT', 'normals GT'),
        ('edge', 'GT', 'edge GT')]
    # Where the tool put each panel.
    _, boxes = draw_panels(panels, tool.header_line(1, packed))
    picture = _read_rgb(written[1])

    # The maps as loaded from disk, unflipped (the loader is tested in
    # tests/test_datasets); the picture must show them flipped.
    raw = TRANSFORMS.build(dict(type='LoadMultiModalFromFile'))(
        dict(dataset.get_data_info(1)))
    scale = annotate.enlarge_factor((48, 64))
    assert scale == 4
    rgb = _panel(picture, boxes['rgb input'], scale)
    assert (rgb == raw['rgb'][:, ::-1]).all()
    assert not (rgb == raw['rgb']).all()

    depth = raw['gt_depth_map'][:, ::-1]
    valid = depth > 0
    assert (~valid).any() and valid.any()
    shown = _panel(picture, boxes['depth GT'], scale)
    expected = colorize_depth(depth, *depth_range(depth))
    assert (shown[valid] == expected[valid]).all()
    unflipped = colorize_depth(raw['gt_depth_map'],
                               *depth_range(depth))
    assert not (shown[valid] == unflipped[valid]).all()
    # Invalid depth is hatched grey.
    assert set(map(tuple, shown[~valid])) <= HATCH

    labels = raw['gt_seg_map'][:, ::-1].astype(int)
    shown = _panel(picture, boxes['semseg GT'], scale)
    lab_valid = labels != 255
    palette = np.asarray(NYUV2_PALETTE, np.uint8)
    assert (shown[lab_valid] == palette[labels[lab_valid]]).all()
    assert (shown[~lab_valid] == 0).all()  # ignored: black

    # Normals turn with the flip: x negated.
    normals = raw['gt_normals'][:, ::-1].copy()
    normals[..., 0] *= -1
    n_valid = (normals != 0).any(-1)
    shown = _panel(picture, boxes['normals GT'], scale)
    expected = np.round((normals + 1) * 127.5).astype(np.uint8)
    assert (shown[n_valid] == expected[n_valid]).all()

    edge = raw['gt_edge'][:, ::-1]
    shown = _panel(picture, boxes['edge GT'], scale)
    assert (shown[edge == 1] == 255).all() and (shown[edge == 0] == 0).all()
    assert set(map(tuple, shown[edge == 255])) <= HATCH


def test_random_crop_config_and_modality_filter(data, tmp_path, tool):
    """The real augmenting pipeline; --modalities keeps only the named
    maps, every panel the 64 x 64 crop."""
    out = tmp_path / 'pics'
    written = tool.main([
        SEG_DEPTH, '--output-dir', str(out), '--not-show', '--cfg-options',
        f'train_dataloader.dataset.data_root={data / "nyuv2_synth"}',
        '--modalities', 'rgb', 'depth'])
    assert len(written) == 3 and sorted(os.listdir(out)) == [
        '00000_000000.png', '00001_000001.png', '00002_000002.png']
    picture = _read_rgb(written[0])
    # The layout of a 64 x 64 rgb and depth pair (it does not depend on
    # the values).
    dummy = [Panel('rgb', 'input', 'image', np.zeros((64, 64, 3), np.uint8),
                   'rgb (input)'),
             Panel('depth', 'GT', 'depth', np.ones((64, 64), np.float32),
                   'depth GT [m]')]
    _, boxes = draw_panels(dummy, 'header')
    y0, x0, y1, x1 = boxes['rgb input']
    rgb = picture[y0:y1, x0:x1].astype(int)
    assert annotate.enlarge_factor((64, 64)) == 3
    # Upscaled x3 by nearest: constant 3 x 3 blocks, not a blank.
    assert (rgb == np.repeat(np.repeat(rgb[::3, ::3], 3, 0), 3, 1)).all()
    assert rgb.std() > 5
    y0, x0, y1, x1 = boxes['depth GT']
    depth = picture[y0:y1, x0:x1].reshape(-1, 3)
    lut = colorize_depth(np.linspace(1, 2, 10000)[None], 1, 2)[0]
    allowed = set(map(tuple, lut)) | HATCH
    assert set(map(tuple, depth)) <= allowed
    # Nothing but the colour bar right of the depth panel: no semseg.
    assert (picture[y0:, x1 + 120:] == 255).all()


def test_pretrain_folders(data, tmp_path, tool):
    written = tool.main([
        PRETRAIN, '--output-dir', str(tmp_path), '--not-show',
        '--max-samples', '1', '--cfg-options',
        f'train_dataloader.dataset.data_root={data / "nyuv2_synth/train"}'])
    register_all_modules()
    cfg = Config.fromfile(PRETRAIN)
    cfg.train_dataloader.dataset.data_root = str(data / 'nyuv2_synth/train')
    packed = DATASETS.build(cfg.train_dataloader.dataset)[0]
    panels = sample_panels(packed)
    assert [p.title for p in panels] == [
        'rgb (input)', 'depth (input) [m]', 'semseg (input)']
    # No ground truth in a pre-training sample: inputs only.
    picture = _read_rgb(written[0])
    assert picture.shape[1] > 3 * 160


def test_toy_classification_image_class_and_domain(data, tmp_path, tool):
    written = tool.main([
        TOY, '--output-dir', str(tmp_path), '--not-show', '--split',
        'test', '--cfg-options',
        f'test_dataloader.dataset.data_root={data / "toy"}'])
    register_all_modules()
    cfg = Config.fromfile(TOY)
    cfg.test_dataloader.dataset.data_root = str(data / 'toy')
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    # 4 domains x 4 classes x 1 test image each.
    assert len(written) == len(dataset) == 16
    packed = dataset[0]
    panels = sample_panels(packed, dataset.metainfo)
    meta = packed['data_samples'].metainfo
    label = int(packed['data_samples'].gt_label)
    name = dataset.metainfo['classes'][label]
    assert panels[0].title == 'img (input)'
    assert panels[0].caption == (f'GT: {name} ({label})',
                                 f'domain: {meta["task"]}')
    _, boxes = draw_panels(panels, tool.header_line(0, packed))
    picture = _read_rgb(written[0])
    # The picture shows the file's colours in RGB order (mmcv loads BGR).
    on_disk = _read_rgb(meta['img_path'])
    assert (_panel(picture, boxes['img input'], 10) == on_disk).all()


def test_pipeline_normalisation_is_undone(data, tmp_path, tool):
    cfg = tmp_path / 'norm_cfg.py'
    cfg.write_text(
        f'_base_ = [{TOY!r}]\n'
        'test_dataloader = dict(dataset=dict(\n'
        f'    data_root={str(data / "toy")!r},\n'
        '    pipeline=[dict(type="mmpretrain.LoadImageFromFile"),\n'
        '              dict(type="Normalize", mean=[120., 110., 100.],\n'
        '                   std=[50., 60., 70.], to_rgb=True),\n'
        '              dict(type="mmpretrain.PackInputs",\n'
        '                   meta_keys=("img_path", "ori_shape", '
        '"img_shape", "flip", "flip_direction", "task"))]))\n')
    normed = tool.main([str(cfg), '--output-dir', str(tmp_path / 'n'),
                        '--not-show', '--split', 'test',
                        '--max-samples', '1'])
    plain = tool.main([
        TOY, '--output-dir', str(tmp_path / 'p'), '--not-show', '--split',
        'test', '--max-samples', '1', '--cfg-options',
        f'test_dataloader.dataset.data_root={data / "toy"}'])
    a, b = _read_rgb(normed[0]), _read_rgb(plain[0])
    assert a.shape == b.shape
    # Same image after un-normalising (float32 round trip: within 1).
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_unknown_modality_names_it_the_config_and_what_exists(data, tool):
    with pytest.raises(KeyError) as err:
        tool.main([
            SEG_DEPTH, '--output-dir', '/tmp/unused', '--not-show',
            '--cfg-options',
            f'train_dataloader.dataset.data_root={data / "nyuv2_synth"}',
            '--modalities', 'rgb', 'normals'])
    msg = err.value.args[0]
    assert "modality 'normals' is not in the samples of the train dataset " \
        f"(NYUv2MultiTaskDataset) of {SEG_DEPTH}" in msg
    assert "available modalities: ['rgb', 'semseg', 'depth']" in msg


def test_missing_dataset_folder_names_it_and_the_command(tmp_path):
    missing = str(tmp_path / 'data' / 'nyuv2_synth')
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/browse_dataset.py', MT4,
         '--not-show', '--output-dir', str(tmp_path / 'o'), '--cfg-options',
         f'train_dataloader.dataset.data_root={missing}'],
        cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == (
        f'BrowseError: dataset folder "{missing}" (train_dataloader.dataset.'
        f'data_root of {MT4}) does not exist; make the synthetic data with: '
        f'python tools/dataset_converters/synthetic_nyuv2.py --out {missing}')
    assert not osp.exists(tmp_path / 'o')


def test_pascal_context_parts_with_their_class_names(tmp_path, tool):
    sys.path.insert(0, osp.join(ROOT, 'tests', 'test_datasets'))
    try:
        from mt_layouts import make_pascal_mt
    finally:
        sys.path.pop(0)
    from mmmae.datasets import HUMAN_PARTS_CLASSES, PASCAL_MT_CLASSES
    make_pascal_mt(str(tmp_path / 'PASCAL_MT'))
    cfg = osp.join(ROOT, 'configs/multimae/multimae_vit-b_seg-parts-sal-'
                   'normals-edge_1xb2-40k_pascal-context-mt-512x512.py')
    option = f'val_dataloader.dataset.data_root={tmp_path / "PASCAL_MT"}'
    written = tool.main([cfg, '--output-dir', str(tmp_path / 'o'),
                         '--not-show', '--split', 'val',
                         '--cfg-options', option])
    assert [osp.basename(p) for p in written] == ['00000_2008_000003.png']
    register_all_modules()
    config = Config.fromfile(cfg)
    config.val_dataloader.dataset.data_root = str(tmp_path / 'PASCAL_MT')
    dataset = DATASETS.build(config.val_dataloader.dataset)
    panels = {p.name: p for p in sample_panels(dataset[0], dataset.metainfo)}
    assert list(panels) == ['rgb', 'semseg', 'normals', 'edge', 'sal',
                            'parts']
    assert tuple(panels['parts'].classes) == tuple(HUMAN_PARTS_CLASSES)
    assert tuple(panels['semseg'].classes) == tuple(PASCAL_MT_CLASSES)
