"""MultiTaskCLIPInferencer and inference_model on a tiny random CLIP
multi-task classifier: task choice, structure, files, batching, errors."""
import os

import cv2
import numpy as np
import pytest
import torch

from mmmae.apis import (MultiTaskCLIPInferencer, UnknownTaskError,
                        inference_model, init_model)
from mmmae.registry import INFERENCERS
from mmmae.utils.output_guard import OutputOverwritesInputError
from mmmae.visualization import annotate as A
from test_inference import _config

CLIP = ('configs/mmap/'
        'vpt-mt_clip-tiny_deep-l4_1xb16-300i_toy-multidomain-32.py')
CLASSES = ('blue', 'green', 'red', 'yellow')


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match='random'):
        return init_model(CLIP)


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp('imgs')
    rng = np.random.RandomState(0)
    for i in range(3):
        cv2.imwrite(str(folder / f'{i}.png'),
                    rng.randint(0, 256, (32, 40, 3)).astype(np.uint8))
    return folder


def test_inference_model_scores_one_task(model, images):
    sample = inference_model(model, str(images / '0.png'), task='Clipart')
    assert sample.metainfo['task'] == 'Clipart'
    assert sample.pred_score.shape == (4, )
    torch.testing.assert_close(sample.pred_score.sum(), torch.tensor(1.))
    assert sample.pred_label.item() == sample.pred_score.argmax().item()
    batch = inference_model(model, [str(images / '0.png'),
                                    str(images / '1.png')], task='Clipart')
    assert len(batch) == 2
    torch.testing.assert_close(batch[0].pred_score, sample.pred_score)


def test_inference_model_task_errors(model, images):
    img = str(images / '0.png')
    with pytest.raises(UnknownTaskError,
                       match=r'unknown task "Sketch": the classifier knows '
                       r"the tasks \['Art', 'Clipart', 'Product', "
                       r"'Real_World'\]"):
        inference_model(model, img, task='Sketch')
    with pytest.raises(UnknownTaskError, match='pass task='):
        inference_model(model, img)  # four tasks: which one?
    with pytest.warns(UserWarning, match='random'):
        dense = init_model(_config())
    with pytest.raises(TypeError, match='for the multi-task classifiers'):
        inference_model(dense, img, task='Art')


def test_inferencer_results_files_and_batching(model, images, tmp_path):
    inferencer = INFERENCERS.build(dict(type='MultiTaskCLIPInferencer',
                                        model=model))
    out = inferencer(str(images), task='Art', out_dir=str(tmp_path),
                     topk=2)
    preds = out['predictions']
    assert len(preds) == 3
    first = preds[0]
    assert first['task'] == 'Art'
    assert first['pred_class'] == CLASSES[first['pred_label']]
    assert first['pred_scores'].shape == (4, )
    assert first['pred_score'] == pytest.approx(first['pred_scores'].max())
    assert [c for c, _ in first['topk']][0] == first['pred_class']
    scores = [s for _, s in first['topk']]
    assert scores == sorted(scores, reverse=True)
    # As inference_model.
    ref = inference_model(model, str(images / '0.png'), task='Art')
    np.testing.assert_allclose(first['pred_scores'], ref.pred_score.numpy(),
                               rtol=1e-5)
    # Batched the same; an RGB array the same as its file.
    batched = inferencer(str(images), task='Art', batch_size=2)
    for a, b in zip(preds, batched['predictions']):
        np.testing.assert_allclose(a['pred_scores'], b['pred_scores'],
                                   rtol=1e-4, atol=1e-6)
    rgb = cv2.imread(str(images / '0.png'))[..., ::-1].copy()
    from_array = inferencer(rgb, task='Art')['predictions'][0]
    np.testing.assert_allclose(from_array['pred_scores'],
                               first['pred_scores'], rtol=1e-5)
    # Picture: the task title, the 32x40 image enlarged 5x, then the text
    # strip (prediction + the second class of the top-2).
    picture = out['visualization'][0]
    assert picture.shape == (A.TITLE_HEIGHT + 160 + 4 + 2 * A.LINE, 200, 3)
    assert (picture[:A.TITLE_HEIGHT] < 100).all(-1).sum() > 20
    np.testing.assert_array_equal(
        picture[A.TITLE_HEIGHT:A.TITLE_HEIGHT + 160],
        np.repeat(np.repeat(cv2.imread(str(images / '0.png'))[..., ::-1],
                            5, 0), 5, 1))
    text = picture[A.TITLE_HEIGHT + 160:]
    assert (text[:A.LINE + 4] < 100).all(-1).sum() > 20  # "pred: ..."
    assert (text[A.LINE + 4:] < 100).all(-1).sum() > 20  # "top 2: ..."
    assert sorted(os.listdir(tmp_path)) == ['0.png', '1.png', '2.png']
    np.testing.assert_array_equal(
        cv2.imread(str(tmp_path / '0.png'))[..., ::-1], picture)
    samples = inferencer(str(images / '0.png'), task='Art',
                         return_datasamples=True)['predictions']
    assert samples[0].metainfo['task'] == 'Art'


def test_inferencer_errors(model, images):
    inferencer = MultiTaskCLIPInferencer(model)
    with pytest.raises(UnknownTaskError, match='Sketch.*Real_World'):
        inferencer(str(images), task='Sketch')
    with pytest.raises(OutputOverwritesInputError, match='0.png'):
        inferencer(str(images), task='Art', out_dir=str(images))
    with pytest.raises(ValueError, match=r'\(H, W, 3\) RGB'):
        inferencer(np.zeros((8, 8)), task='Art')
    with pytest.warns(UserWarning, match='random'):
        dense = init_model(_config())
    with pytest.raises(TypeError, match='MultiTaskSegmentor is not one'):
        MultiTaskCLIPInferencer(dense)
