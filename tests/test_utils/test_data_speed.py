import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import BaseDataset

from mmmae.utils.data_speed import (check_dataset_root, dataset_root_key,
                                    measure_pipeline)


def test_root_key_looks_through_wrappers(tmp_path):
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='RepeatDataset', times=2,
        dataset=dict(type='ConcatDataset', datasets=[
            dict(type='X', data_root=str(tmp_path / 'missing'))
        ])))))
    _, inner, key = dataset_root_key(cfg)
    assert key == 'train_dataloader.dataset.dataset.datasets.0.data_root'
    assert inner['type'] == 'X'
    with pytest.raises(FileNotFoundError) as err:
        check_dataset_root(cfg, config_name='my_cfg.py')
    assert key in str(err.value) and 'my_cfg.py' in str(err.value)
    assert str(tmp_path / 'missing') in str(err.value)
    with pytest.raises(KeyError, match='val_dataloader'):
        dataset_root_key(cfg, 'val_dataloader')


class _CvReader:
    """A transform that reads around mmengine's file backend."""

    def __call__(self, results):
        results['img'] = cv2.imread(results['img_path'], cv2.IMREAD_UNCHANGED)
        return results


class _Images(BaseDataset):

    def __init__(self, paths, **kwargs):
        self.paths = paths
        super().__init__(pipeline=[_CvReader()], serialize_data=False,
                         **kwargs)

    def load_data_list(self):
        return [dict(img_path=p, other_path=p + '.missing')
                for p in self.paths]


def test_floor_falls_back_to_the_data_info_paths(tmp_path):
    paths = []
    for i in range(2):
        path = str(tmp_path / f'{i}.png')
        cv2.imwrite(path, np.full((8, 8), i, np.uint8))
        paths.append(path)
    out = measure_pipeline(_Images(paths), num_samples=3, warmup=1)
    # Nothing went through mmengine.fileio: the listed files that exist.
    assert out['floor_files'].startswith('listed in the data info')
    assert out['files_per_sample'] == 1
    assert out['num_items'] == 2 and out['num_samples'] == 3
    assert out['pipeline_to_floor'] == pytest.approx(
        out['pipeline_samples_per_s'] / out['decode_floor_samples_per_s'])
    assert [t['transform'] for t in out['transforms']] == ['0:_CvReader']
    with pytest.raises(ValueError, match='num_samples'):
        measure_pipeline(_Images(paths), num_samples=0)


class _Jitter:
    """Draws one random number per sample and records it."""

    def __init__(self):
        self.draws = []

    def __call__(self, results):
        d = np.random.rand()
        self.draws.append(d)
        results['d'] = d
        return results


class _Drawing(BaseDataset):

    def __init__(self, paths, **kwargs):
        self.paths = paths
        self.jitter = _Jitter()
        super().__init__(pipeline=[_CvReader(), self.jitter],
                         serialize_data=False, **kwargs)

    def load_data_list(self):
        return [dict(img_path=p) for p in self.paths]


def test_passes_repeat_each_sample_with_the_same_draws(tmp_path):
    """With ``passes`` each sample runs that many times from one random
    state (the same draws), and the stream goes on as with one pass."""
    paths = []
    for i in range(3):
        path = str(tmp_path / f'{i}.png')
        cv2.imwrite(path, np.full((8, 8), i, np.uint8))
        paths.append(path)
    one = _Drawing(paths)
    out1 = measure_pipeline(one, num_samples=4, warmup=1, passes=1)
    three = _Drawing(paths)
    out3 = measure_pipeline(three, num_samples=4, warmup=1, passes=3)
    assert out1['passes'] == 1 and out3['passes'] == 3
    assert len(three.jitter.draws) == 3 * len(one.jitter.draws) == 15
    draws = np.array(three.jitter.draws).reshape(5, 3)
    assert (draws == draws[:, :1]).all()  # the same draws in each pass
    assert np.array_equal(draws[:, 0], one.jitter.draws)
    assert [t['transform'] for t in out3['transforms']] == \
        ['0:_CvReader', '1:_Jitter']
    with pytest.raises(ValueError, match='passes must be >= 1'):
        measure_pipeline(one, num_samples=1, passes=0)
