"""MultiTaskDenseInferencer on a tiny random RGB-D segmentor: returned
structure, files written, batching, modality subsets and the errors."""
import os

import cv2
import numpy as np
import pytest
import torch

from mmmae.apis import (MultiTaskDenseInferencer, UnknownModalityError,
                        init_model)
from mmmae.registry import INFERENCERS
from mmmae.utils.output_guard import OutputOverwritesInputError
from mmmae.visualization import annotate as A
from mmmae.visualization import colorize_depth, depth_range
from test_inference import _config


def _mean_readout(modalities=('rgb', 'depth')):
    cfg = _config(modalities)
    cfg.model.readout = dict(modalities=None, mode='mean')
    return cfg


def test_registered_and_returns_task_arrays(data, checkpoint, tmp_path):
    inferencer = INFERENCERS.build(dict(type='MultiTaskDenseInferencer',
                                        model=_config(), weights=checkpoint))
    out = inferencer(str(data / 'rgb' / '000000.png'),
                     out_dir=str(tmp_path / 'out'))
    pred = out['predictions'][0]
    assert set(pred) == {'depth', 'semseg'}
    assert pred['depth'].shape == (48, 64) and pred['depth'].dtype == \
        np.float32
    assert pred['semseg'].shape == (48, 64) and pred['semseg'].dtype == \
        np.int64 and 0 <= pred['semseg'].min() <= pred['semseg'].max() < 40
    # The same as inference_model's data sample.
    sample = inferencer(str(data / 'rgb' / '000000.png'),
                        return_datasamples=True)['predictions'][0]
    np.testing.assert_allclose(sample.pred_depth_map.data[0].numpy(),
                               pred['depth'])
    # Picture: titled panels input | depth | semseg, 48x64 enlarged 4x.
    picture = out['visualization'][0]
    assert (picture[:A.TITLE_HEIGHT, :256] < 100).all(-1).sum() > 20
    np.testing.assert_array_equal(
        picture[A.TITLE_HEIGHT:A.TITLE_HEIGHT + 192, :256],
        np.repeat(np.repeat(cv2.imread(str(data / 'rgb' / '000000.png'))[
            ..., ::-1], 4, 0), 4, 1))
    assert sorted(os.listdir(tmp_path / 'out')) == [
        '000000.png', '000000_depth.png', '000000_depth_vis.png',
        '000000_semseg.png', '000000_semseg_vis.png']
    on_disk = cv2.imread(str(tmp_path / 'out' / '000000.png'))[..., ::-1]
    np.testing.assert_array_equal(on_disk, picture)
    depth = cv2.imread(str(tmp_path / 'out' / '000000_depth.png'),
                       cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16
    np.testing.assert_allclose(depth / 1000., pred['depth'], atol=6e-4)
    labels = cv2.imread(str(tmp_path / 'out' / '000000_semseg.png'),
                        cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(labels, pred['semseg'])
    # The viewable twins: the depth coloured on its stated range, the
    # labels in the palette with a legend of the classes present.
    rows, cols = A.map_box((48, 64))
    twin = cv2.imread(str(tmp_path / 'out' / '000000_depth_vis.png'))[
        ..., ::-1]
    lo, hi = depth_range(pred['depth'])
    np.testing.assert_array_equal(
        twin[rows, cols][::4, ::4],
        colorize_depth(pred['depth'], lo, hi, invalid_black=False))
    twin = cv2.imread(str(tmp_path / 'out' / '000000_semseg_vis.png'))[
        ..., ::-1]
    palette = A.full_palette(inferencer._label_meta('segmentation')[1], 40)
    np.testing.assert_array_equal(twin[rows, cols][::4, ::4],
                                  palette[pred['semseg']])
    key = twin[rows, 256 + A.GAP:]
    fits = (192 - 4) // A.LINE
    ids, more = A.legend_entries(pred['semseg'], max_items=fits)
    if more:
        ids = ids[:-1]
    for i, idx in enumerate(ids):
        y = 4 + A.LINE * i + A.SWATCH // 2
        np.testing.assert_array_equal(key[y, 2 + A.SWATCH // 2],
                                      palette[idx])


def test_folder_array_batching_and_npy_depth(data, checkpoint, tmp_path):
    model = init_model(_config(), checkpoint)
    inferencer = MultiTaskDenseInferencer(model)
    one = inferencer(str(data / 'rgb'))['predictions']
    assert len(one) == 3
    batched = inferencer(str(data / 'rgb'), batch_size=2)['predictions']
    for a, b in zip(one, batched):
        np.testing.assert_allclose(a['depth'], b['depth'], atol=1e-5)
    rgb = cv2.imread(str(data / 'rgb' / '000001.png'))[..., ::-1].copy()
    out = inferencer([rgb], out_dir=str(tmp_path), depth_format='npy')
    np.testing.assert_allclose(out['predictions'][0]['depth'],
                               one[1]['depth'], atol=1e-5)
    # Arrays are named by their index.
    assert sorted(os.listdir(tmp_path)) == [
        '000000.png', '000000_depth.npy', '000000_depth_vis.png',
        '000000_semseg.png', '000000_semseg_vis.png']
    np.testing.assert_allclose(np.load(tmp_path / '000000_depth.npy'),
                               one[1]['depth'], atol=1e-5)


def test_rgbd_folders_and_modality_subsets(data, checkpoint):
    cfg = _mean_readout()
    both = MultiTaskDenseInferencer(cfg, checkpoint)
    folders = dict(rgb=str(data / 'rgb'), depth=str(data / 'depth'))
    rgbd = both(folders, batch_size=3, return_datasamples=True)
    rgbd = rgbd['predictions']
    assert len(rgbd) == 3
    rgb_only = MultiTaskDenseInferencer(cfg, checkpoint, modalities=['rgb'])
    assert rgb_only.input_modalities == ('rgb', )
    assert rgb_only.modalities_report['used'] == ['rgb']
    # An rgbd input: its depth is not read.
    from_rgbd = rgb_only(folders, return_datasamples=True)['predictions']
    from_rgb = rgb_only(str(data / 'rgb'),
                        return_datasamples=True)['predictions']
    torch.testing.assert_close(from_rgbd[0].seg_logits.data,
                               from_rgb[0].seg_logits.data)
    # (the random depth head's output is clamped flat, so compare logits)
    assert not torch.allclose(from_rgb[0].seg_logits.data,
                              rgbd[0].seg_logits.data)
    depth_only = MultiTaskDenseInferencer(cfg, checkpoint,
                                          modalities='depth')
    out = depth_only(dict(depth=str(data / 'depth' / '000000.png')))
    assert out['predictions'][0]['semseg'].shape == (48, 64)


def test_depth_input_and_prediction_share_one_scale(data, checkpoint,
                                                    monkeypatch):
    inferencer = MultiTaskDenseInferencer(_mean_readout(), checkpoint)
    item = dict(rgb=str(data / 'rgb' / '000000.png'),
                depth=str(data / 'depth' / '000000.png'))
    drawn = []
    real = A.depth_panel

    def spy(depth, vmin, vmax, *args, **kwargs):
        panel = real(depth, vmin, vmax, *args, **kwargs)
        drawn.append((np.asarray(depth), vmin, vmax, panel))
        return panel

    monkeypatch.setattr(A, 'depth_panel', spy)
    inferencer(item)
    (d_in, lo_in, hi_in, p_in), (_, lo_pr, hi_pr, p_pr) = drawn
    depth_mm = cv2.imread(item['depth'], cv2.IMREAD_UNCHANGED)
    # one scale: the depth input's valid 2-98 %, for input and prediction
    assert (lo_in, hi_in) == (lo_pr, hi_pr) == depth_range(depth_mm / 1e3)
    rows, cols = A.map_box((48, 64))
    np.testing.assert_array_equal(p_in[rows, 256:256 + A.GAP + A.BAR_WIDTH],
                                  p_pr[rows, 256:256 + A.GAP + A.BAR_WIDTH])
    # the input's invalid (0) pixels are hatched, the others coloured
    shown = p_in[rows, cols][::4, ::4]
    invalid = depth_mm == 0
    assert invalid.any()
    np.testing.assert_array_equal(
        shown[~invalid],
        colorize_depth(depth_mm / 1e3, lo_in, hi_in)[~invalid])
    assert {tuple(c) for c in shown[invalid]} <= {
        tuple(c) for c in np.asarray(A.HATCH)}


def test_errors(data, checkpoint, tmp_path):
    with pytest.raises(UnknownModalityError, match=r"\['nir'\].*knows "
                       r"\['rgb', 'depth'\]"):
        MultiTaskDenseInferencer(_config(), checkpoint, modalities=['nir'])
    rgbd = MultiTaskDenseInferencer(_config(('rgb', 'depth')), checkpoint)
    with pytest.raises(KeyError, match=r"lacks \['depth'\]"):
        rgbd(str(data / 'rgb' / '000000.png'))
    inferencer = MultiTaskDenseInferencer(_config(), checkpoint)
    with pytest.raises(FileNotFoundError, match='nope.png'):
        inferencer(str(tmp_path / 'nope.png'))
    with pytest.raises(FileNotFoundError, match='no image file'):
        inferencer(str(tmp_path))
    with pytest.raises(ValueError, match='depth_format'):
        inferencer(str(data / 'rgb' / '000000.png'), depth_format='tif')
    # Writing next to the input would replace it: refused before any work.
    work = tmp_path / 'in'
    work.mkdir()
    img = work / '000000.png'
    img.write_bytes((data / 'rgb' / '000000.png').read_bytes())
    before = img.read_bytes()
    with pytest.raises(OutputOverwritesInputError, match='000000.png'):
        inferencer(str(img), out_dir=str(work))
    assert img.read_bytes() == before and os.listdir(work) == ['000000.png']
    # A model of another family is named.
    other = torch.nn.Linear(1, 1)
    other.cfg = _config()
    with pytest.raises(TypeError, match='Linear is not one'):
        MultiTaskDenseInferencer(other)


def test_every_task_kind(data, tmp_path):
    """semseg, depth, normals and edge heads: arrays, pictures, files."""
    cfg = ('configs/multimae/multimae_vit-tiny-p8-pt_'
           'seg-depth-normals-edge_1xb8-150i_nyuv2synth-64x64.py')
    with pytest.warns(UserWarning, match='random'):
        inferencer = MultiTaskDenseInferencer(cfg)
    assert inferencer.tasks == dict(semseg='segmentation', depth='depth',
                                    normals='normals', edge='boundary')
    out = inferencer(str(data / 'rgb' / '000000.png'), out_dir=str(tmp_path))
    pred = out['predictions'][0]
    assert pred['normals'].shape == (48, 64, 3)
    np.testing.assert_allclose(np.linalg.norm(pred['normals'], axis=-1), 1,
                               atol=1e-4)
    assert pred['edge'].shape == (48, 64) and pred['edge'].dtype == \
        np.float32 and 0 <= pred['edge'].min() <= pred['edge'].max() <= 1
    # input + four titled panels, three a row
    picture = out['visualization'][0]
    assert picture.shape[0] > 2 * (A.TITLE_HEIGHT + 192)
    assert picture.shape[1] > 3 * 256
    assert sorted(os.listdir(tmp_path)) == [
        '000000.png', '000000_depth.png', '000000_depth_vis.png',
        '000000_edge.npy', '000000_normals.npy', '000000_semseg.png',
        '000000_semseg_vis.png']
    np.testing.assert_array_equal(np.load(tmp_path / '000000_normals.npy'),
                                  pred['normals'])
    np.testing.assert_array_equal(np.load(tmp_path / '000000_edge.npy'),
                                  pred['edge'])
