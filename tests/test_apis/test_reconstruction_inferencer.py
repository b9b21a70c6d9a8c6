"""MultiMAEReconstructionInferencer on the tiny pre-training config with
random weights: masking options as in the MultiMAE demo, files, batching
and the errors."""
import os

import cv2
import numpy as np
import pytest

from mmmae.apis import MultiMAEReconstructionInferencer, init_model
from mmmae.registry import INFERENCERS
from mmmae.utils.output_guard import OutputOverwritesInputError
from mmmae.visualization import annotate as A
from test_inference import _config

PRETRAIN = ('configs/multimae/'
            'multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py')
OUTPUTS = ('rgb', 'norm_rgb', 'depth', 'semseg')


@pytest.fixture(scope='module')
def inferencer():
    with pytest.warns(UserWarning, match='random'):
        model = init_model(PRETRAIN)
    return INFERENCERS.build(dict(type='MultiMAEReconstructionInferencer',
                                  model=model))


def _visible(pred, modality):
    return int((pred[f'mask_{modality}'] == 0).sum())


def test_rgb_only_image(inferencer, data, tmp_path):
    img = str(data / 'rgb' / '000000.png')
    out = inferencer(img, num_visible=16, out_dir=str(tmp_path))
    pred = out['predictions'][0]
    assert set(pred) == set(OUTPUTS) | {'mask_rgb', 'mask_depth',
                                        'mask_semseg'}
    # 64 px crop, 8 px patches: an 8x8 grid; 16 visible rgb tokens and
    # nothing of the modalities not given.
    assert pred['rgb'].shape == (3, 64, 64) and pred['depth'].shape == \
        (1, 64, 64)
    assert pred['semseg'].shape == (16, 16) and pred['semseg'].dtype == \
        np.int64
    assert _visible(pred, 'rgb') == 16
    assert _visible(pred, 'depth') == 0 and _visible(pred, 'semseg') == 0
    # One row per output (title strip + 64 px map enlarged 3x), three
    # columns; the outputs not given show a grey "not given" panel.
    picture = out['visualization'][0]
    assert picture.shape[0] > 4 * (A.TITLE_HEIGHT + 192)
    assert picture.shape[1] > 3 * 192
    assert (picture[:A.TITLE_HEIGHT, :192] < 100).all(-1).sum() > 20
    assert sorted(os.listdir(tmp_path)) == ['000000.png'] + sorted(
        f'000000_{o}.npy' for o in OUTPUTS)
    np.testing.assert_array_equal(
        cv2.imread(str(tmp_path / '000000.png'))[..., ::-1], picture)
    np.testing.assert_allclose(np.load(tmp_path / '000000_rgb.npy'),
                               pred['rgb'])


def test_seeded_draws_and_given_counts(inferencer, data):
    rgbd = dict(rgb=str(data / 'rgb' / '000001.png'),
                depth=str(data / 'depth' / '000001.png'),
                semseg=str(data / 'semseg' / '000001.png'))
    a = inferencer(rgbd, seed=1)['predictions'][0]
    b = inferencer(rgbd, seed=1)['predictions'][0]
    c = inferencer(rgbd, seed=2)['predictions'][0]
    np.testing.assert_array_equal(a['mask_rgb'], b['mask_rgb'])
    np.testing.assert_array_equal(a['rgb'], b['rgb'])
    assert any((a[k] != c[k]).any() for k in ('mask_rgb', 'mask_depth'))
    # Default: the model's 32 visible tokens, shared out by Dirichlet.
    assert sum(_visible(a, m) for m in ('rgb', 'depth', 'semseg')) == 32
    # mask_ratio over the 3 x 64 tokens given.
    d = inferencer(rgbd, mask_ratio=0.75)['predictions'][0]
    assert sum(_visible(d, m) for m in ('rgb', 'depth', 'semseg')) == 48
    # Given per-modality counts (positions still random).
    e = inferencer(rgbd, visible=dict(rgb=5, depth=3))['predictions'][0]
    assert (_visible(e, 'rgb'), _visible(e, 'depth'),
            _visible(e, 'semseg')) == (5, 3, 0)


def test_given_masks(inferencer, data):
    rgbd = dict(rgb=str(data / 'rgb' / '000001.png'),
                depth=str(data / 'depth' / '000001.png'))
    rgb_mask = np.ones((8, 8), np.int64)
    rgb_mask[2:4, 3:6] = 0  # 6 visible rgb tokens
    depth_mask = np.ones((8, 8), np.int64)
    depth_mask[7, 7] = 0
    two = inferencer([rgbd, rgbd], batch_size=2,
                     masks=dict(rgb=rgb_mask, depth=depth_mask))
    for pred in two['predictions']:
        np.testing.assert_array_equal(pred['mask_rgb'], rgb_mask)
        np.testing.assert_array_equal(pred['mask_depth'], depth_mask)
        # semseg was not given: hidden everywhere, predicted from 7 tokens
        assert _visible(pred, 'semseg') == 0
    # A given modality without a mask is hidden entirely.
    only_rgb = inferencer(rgbd, masks=dict(rgb=rgb_mask))['predictions'][0]
    assert _visible(only_rgb, 'depth') == 0
    with pytest.raises(ValueError, match=r'the rgb mask must hold 64 zeros '
                       r'/ ones \(its token grid\), got shape \(4, 4\)'):
        inferencer(rgbd, masks=dict(rgb=np.zeros((4, 4))))
    with pytest.raises(ValueError, match='hide every token'):
        inferencer(rgbd, masks=dict(rgb=np.ones((8, 8))))
    with pytest.raises(KeyError, match=r"masks given for \['semseg'\]"):
        inferencer(rgbd, masks=dict(semseg=rgb_mask))
    with pytest.raises(ValueError, match='visible or masks, not both'):
        inferencer(rgbd, masks=dict(rgb=rgb_mask), visible=dict(rgb=2))


def test_batches_keep_one_modality_set(inferencer, data):
    items = [str(data / 'rgb' / '000000.png'),
             str(data / 'rgb' / '000001.png'),
             dict(rgb=str(data / 'rgb' / '000002.png'),
                  depth=str(data / 'depth' / '000002.png'))]
    preds = inferencer(items, batch_size=3, num_visible=12)['predictions']
    assert len(preds) == 3
    assert [_visible(p, 'depth') for p in preds][:2] == [0, 0]
    assert all(sum(_visible(p, m) for m in ('rgb', 'depth', 'semseg')) == 12
               for p in preds)


def test_errors(inferencer, data, tmp_path):
    img = str(data / 'rgb' / '000000.png')
    with pytest.raises(KeyError, match=r"\['nir'\] have no input adapter.*"
                       r"knows \['rgb', 'depth', 'semseg'\]"):
        inferencer(dict(rgb=img, nir=img))
    with pytest.raises(KeyError, match=r"visible names \['depth'\]"):
        inferencer(img, visible=dict(rgb=4, depth=4))
    with pytest.raises(ValueError, match='within the tokens'):
        inferencer(img, visible=dict(rgb=65))
    with pytest.raises(ValueError, match='not both'):
        inferencer(img, num_visible=4, mask_ratio=0.5)
    with pytest.raises(ValueError, match=r'mask_ratio must be in \[0, 1\)'):
        inferencer(img, mask_ratio=1.0)
    with pytest.raises(ValueError, match='num_encoded_tokens=100'):
        inferencer(img, num_visible=100)
    with pytest.raises(OutputOverwritesInputError, match='000000.png'):
        inferencer(img, out_dir=str(data / 'rgb'))
    with pytest.warns(UserWarning, match='random'):
        dense = init_model(_config())
    with pytest.raises(TypeError, match='MultiTaskSegmentor is not one'):
        MultiMAEReconstructionInferencer(dense)
