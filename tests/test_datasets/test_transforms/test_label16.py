"""Label maps with more than 255 classes: 16-bit PNG ids survive loading,
geometric transforms, packing and the data preprocessor (260 stays 260,
where it used to wrap to 3 or 4), and an id beyond the classes is an error
naming the file and the value."""
import numpy as np
import pytest
import torch

from mmmae.models.data_preprocessors import MultiMAEDataPreprocessor
from mmmae.registry import TRANSFORMS


def _labels16(h=8, w=12):
    raw = np.random.default_rng(0).integers(1, 300, (h, w)).astype(np.uint16)
    raw[(raw == 255) | (raw == 256)] = 257  # no ignore, no clash (below)
    raw[0, 0], raw[0, 1], raw[1, 0] = 260, 0, 299
    return raw


def _results(paths, **extra):
    r = {f'{k}_path': v for k, v in paths.items()}
    r.update(modalities=('rgb', 'semseg'), targets=('semseg', ),
             img_path=paths['rgb'])
    r.update(extra)
    return r


@pytest.fixture
def files16(tmp_path, png_writer):
    raw = _labels16()
    rgb = np.zeros(raw.shape + (3, ), np.uint8)
    paths = dict(rgb=png_writer(str(tmp_path / 'rgb' / 'a.png'), rgb),
                 semseg=png_writer(str(tmp_path / 'semseg' / 'a.png'), raw))
    return paths, raw


@pytest.mark.parametrize('num_classes', [None, 300])
def test_260_survives_the_whole_pipeline(files16, num_classes):
    paths, raw = files16
    pipeline = [TRANSFORMS.build(cfg) for cfg in (
        dict(type='LoadMultiModalFromFile', reduce_zero_label=False,
             num_classes=num_classes),
        dict(type='MultiModalResize', scale=(24, 16), keep_ratio=False),
        dict(type='MultiModalRandomFlip', prob=1.),
        dict(type='MultiModalRandomCrop', crop_size=(16, 24)),
        dict(type='MultiModalPad', size=(20, 28)),
        dict(type='PackMultiModalInputs'),
    )]
    results = pipeline[0](_results(paths))
    assert results['gt_seg_map'].dtype == np.uint16
    np.testing.assert_array_equal(results['gt_seg_map'], raw)
    assert results['gt_seg_map'][0, 0] == 260
    for t in pipeline[1:]:
        results = t(results)
    gt = results['data_samples'].gt_sem_seg.data[0]
    # x2 nearest upsampling, mirrored: pixel (0, 0) lands at (0..1, 22..23).
    want = np.repeat(np.repeat(raw, 2, 0), 2, 1)[:, ::-1].astype(np.int64)
    np.testing.assert_array_equal(gt[:16, :24].numpy(), want)
    assert int(gt[0, 23]) == 260 and gt.dtype == torch.int64
    assert (gt[16:] == 255).all()  # padding stays ignore
    inputs = results['inputs']
    assert int(inputs['semseg'][0, 0, 23]) == 260
    out = MultiMAEDataPreprocessor(semseg_stride=1)(dict(
        inputs={m: [v] for m, v in inputs.items()},
        data_samples=[results['data_samples']]), training=True)
    assert out['inputs']['semseg'].dtype == torch.long
    assert int(out['inputs']['semseg'][0, 0, 23]) == 260
    assert int(out['data_samples'][0].gt_sem_seg.data[0, 0, 23]) == 260


def test_reduce_zero_label_and_ignore_in_16_bit(files16):
    paths, raw = files16
    out = TRANSFORMS.build(dict(type='LoadMultiModalFromFile',
                                num_classes=299))(_results(paths))
    labels = out['gt_seg_map']
    assert labels.dtype == np.uint16
    assert labels[0, 0] == 259  # 260 - 1, not 259 % 256 = 3
    assert labels[0, 1] == 255  # 0 = unlabelled -> ignore
    assert labels[1, 0] == 298
    # The former 8-bit result of the same maps: no wrap-around any more.
    assert not (labels.astype(np.uint8) == labels).all()


def test_8_bit_labels_keep_their_dtype(sample_files):
    paths, _ = sample_files
    out = TRANSFORMS.build(dict(type='LoadMultiModalFromFile',
                                num_classes=40))(
        _results(paths, modalities=('rgb', )))
    assert out['gt_seg_map'].dtype == np.uint8


def test_value_beyond_num_classes_names_file_and_value(files16,
                                                       png_writer):
    paths, raw = files16
    with pytest.raises(ValueError, match=f'{paths["semseg"]}: label 299 on '
                       r'disk is neither unlabelled nor a class \(valid: '
                       r'0..199'):
        TRANSFORMS.build(dict(type='LoadMultiModalFromFile',
                              reduce_zero_label=False, num_classes=200))(
            _results(paths))
    # num_classes from the dataset's sample info, as NYUv2 sets it.
    with pytest.raises(ValueError, match=f'{paths["semseg"]}: label 299'):
        TRANSFORMS.build(dict(type='LoadMultiModalFromFile'))(
            _results(paths, num_classes=260))
    # 255 on disk stays the ignore index, also in a 16-bit map.
    raw[2, 2] = 255
    png_writer(paths['semseg'], raw)
    out = TRANSFORMS.build(dict(type='LoadMultiModalFromFile',
                                reduce_zero_label=False, num_classes=300))(
        _results(paths))
    assert out['gt_seg_map'][2, 2] == 255


def test_class_equal_to_ignore_index_is_an_error(files16, png_writer):
    paths, raw = files16
    raw[3, 3] = 256  # reduce_zero_label: class 255 = the ignore index
    png_writer(paths['semseg'], raw)
    with pytest.raises(ValueError, match=f'{paths["semseg"]}: label 256 on '
                       'disk decodes to class 255, which is the '
                       'ignore_index'):
        TRANSFORMS.build(dict(type='LoadMultiModalFromFile',
                              num_classes=299))(_results(paths))
