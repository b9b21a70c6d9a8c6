import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmmae.apis import inference_model, init_model
from mmmae.visualization import annotate as A
from mmmae.visualization import colorize_depth, depth_range
from mmmae.visualization.local_visualizer import _palette

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _config(modalities=('rgb', )):
    adapters = dict(rgb=dict(type='PatchedInputAdapter', in_channels=3),
                    depth=dict(type='PatchedInputAdapter', in_channels=1))
    return Config(dict(
        default_scope='mmmae',
        model=dict(
            type='MultiTaskSegmentor',
            data_preprocessor=dict(type='MultiMAEDataPreprocessor',
                                   size_divisor=16),
            backbone=dict(type='MultiViT', arch='tiny', out_indices=(0, 1),
                          input_adapters=adapters),
            input_modalities=modalities,
            decode_heads=dict(
                depth=dict(type='MultiMAEDPTHead', embed_dims=32,
                           in_index=(0, 0, 1, 1), channels=16,
                           post_process_channels=(8, 8, 16, 16),
                           head_channels=(8, 4)),
                semseg=dict(type='ConvNeXtHead', in_channels=32, channels=8,
                            num_blocks=1, num_classes=40))),
        test_pipeline=[
            dict(type='LoadMultiModalFromFile', load_targets=False),
            dict(type='MultiModalResize', scale=(32, 24)),
            dict(type='LoadMultiModalFromFile', load_inputs=False),
            dict(type='PackMultiModalInputs'),
        ]))


def test_init_model_loads_checkpoint_and_meta(checkpoint):
    model = init_model(_config(), checkpoint)
    ref = torch.load(checkpoint, weights_only=True)['state_dict']
    torch.testing.assert_close(model.state_dict()['backbone.global_tokens'],
                               ref['backbone.global_tokens'])
    assert not model.training and model.dataset_meta['classes'][0] == 'a'


def test_inference_from_path_array_and_batch(data, checkpoint):
    model = init_model(_config(), checkpoint)
    path = str(data / 'rgb' / '000000.png')
    result = inference_model(model, path)
    # Predictions come back at the file's size, not the 24x32 model input.
    assert result.pred_depth_map.shape == (48, 64)
    assert result.pred_sem_seg.shape == (48, 64)
    assert result.seg_logits.data.shape == (40, 48, 64)
    rgb = cv2.imread(path)[..., ::-1].copy()
    from_array = inference_model(model, dict(rgb=rgb))
    torch.testing.assert_close(from_array.pred_depth_map.data,
                               result.pred_depth_map.data)
    batch = inference_model(model, [path, str(data / 'rgb' / '000001.png')])
    assert len(batch) == 2
    torch.testing.assert_close(batch[0].pred_depth_map.data,
                               result.pred_depth_map.data)


def test_inference_rgbd_and_missing_modality(data, checkpoint):
    model = init_model(_config(('rgb', 'depth')), checkpoint)
    rgbd = dict(rgb=str(data / 'rgb' / '000000.png'),
                depth=str(data / 'depth' / '000000.png'))
    result = inference_model(model, rgbd)
    assert result.pred_depth_map.shape == (48, 64)
    # A depth array in millimetres gives the same as the file.
    mm = cv2.imread(rgbd['depth'], cv2.IMREAD_UNCHANGED)
    same = inference_model(model, dict(rgb=rgbd['rgb'], depth=mm))
    torch.testing.assert_close(same.pred_depth_map.data,
                               result.pred_depth_map.data)
    with pytest.raises(KeyError, match='depth'):
        inference_model(model, rgbd['rgb'])
    with pytest.raises(FileNotFoundError, match='nope.png'):
        inference_model(model, dict(rgb='nope.png', depth=rgbd['depth']))


def test_image_demo_writes_pictures(data, checkpoint, tmp_path):
    cfg_path = tmp_path / 'cfg.py'
    _config().dump(str(cfg_path))
    out = tmp_path / 'out'
    img = str(data / 'rgb' / '000000.png')
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'demo', 'image_demo.py'), img,
         str(cfg_path), checkpoint, '--out-dir', str(out)],
        capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    picture = cv2.imread(str(out / '000000.png'))[..., ::-1]
    # titled input (48x64 enlarged 4x), then a row per task
    np.testing.assert_array_equal(
        picture[A.TITLE_HEIGHT:A.TITLE_HEIGHT + 192, :256],
        np.repeat(np.repeat(cv2.imread(img)[..., ::-1], 4, 0), 4, 1))
    assert (picture[:A.TITLE_HEIGHT, :256] < 100).all(-1).sum() > 20
    depth = cv2.imread(str(out / '000000_depth.png'), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16 and depth.shape == (48, 64)
    labels = cv2.imread(str(out / '000000_semseg.png'), cv2.IMREAD_UNCHANGED)
    assert labels.min() >= 1 and labels.max() <= 40
    # viewable twins of the raw files: depth on its stated range, labels
    # (stored + 1) in the palette
    rows, cols = A.map_box((48, 64))
    twin = cv2.imread(str(out / '000000_depth_vis.png'))[..., ::-1]
    lo, hi = depth_range(depth / 1000.)
    expected = colorize_depth(depth / 1000., lo, hi, invalid_black=False)
    # mm rounding may move a pixel by one colour-map step
    assert np.abs(twin[rows, cols][::4, ::4].astype(int) - expected).max() \
        <= 8
    twin = cv2.imread(str(out / '000000_semseg_vis.png'))[..., ::-1]
    palette = A.full_palette(_palette(40), 40)
    np.testing.assert_array_equal(twin[rows, cols][::4, ::4],
                                  palette[labels.astype(int) - 1])
