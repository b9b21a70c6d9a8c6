"""Modality kinds are registered data: the built-in six reproduce the former
hard-coded tables, a new kind is registered once (a second time is an error
naming it), and a new kind flows from the file to the backbone's tokens."""
import uuid

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.datasets.modality_kinds import (ModalityKind,
                                           UnknownModalityKindError,
                                           declare_modality_kinds,
                                           default_kind_of,
                                           get_modality_kind,
                                           register_modality_kind)
from mmmae.datasets.transforms._fields import (INTERPOLATION,
                                               KIND_OF_MODALITY, PAD_VALUE,
                                               flip_map, resize_map)
from mmmae.models.data_preprocessors import MultiMAEDataPreprocessor
from mmmae.registry import MODALITY_KINDS, MODELS, TRANSFORMS

_NEAREST = getattr(cv2, 'INTER_NEAREST_EXACT', cv2.INTER_NEAREST)
# The tables _fields.py and PackMultiModalInputs hard-coded before kinds
# were registered (commit 6ab356a), copied literally.
OLD_KIND_OF_MODALITY = dict(rgb='image', depth='depth', semseg='label',
                            normals='normals', edge='edge', sal='binary',
                            parts='label')
OLD_INTERPOLATION = dict(image=cv2.INTER_LINEAR, depth=_NEAREST,
                         label=_NEAREST, normals=cv2.INTER_LINEAR,
                         edge=_NEAREST, binary=_NEAREST)
OLD_PAD_VALUE = dict(image=0, depth=0, label=255, normals=0, edge=255,
                     binary=255)
OLD_PACKED_DTYPES = dict(rgb=torch.uint8, depth=torch.float32,
                         semseg=torch.int64, normals=torch.float32,
                         edge=torch.int64, sal=torch.int64, parts=torch.int64)


def _name(prefix='kind'):
    return f'{prefix}_{uuid.uuid4().hex[:8]}'


def test_builtin_kinds_reproduce_the_former_tables():
    assert {m: KIND_OF_MODALITY[m] for m in OLD_KIND_OF_MODALITY} == \
        OLD_KIND_OF_MODALITY
    for kind, flag in OLD_INTERPOLATION.items():
        assert INTERPOLATION[kind] == flag, kind
        assert PAD_VALUE[kind] == OLD_PAD_VALUE[kind], kind
    for name, dtype in OLD_PACKED_DTYPES.items():
        kind = get_modality_kind(OLD_KIND_OF_MODALITY[name])
        assert getattr(torch, kind.dtype) == dtype, name
    # Only normals negate a channel on a flip: x (horizontal), y (vertical).
    assert get_modality_kind('normals').negated_channel('horizontal') == 0
    assert get_modality_kind('normals').negated_channel('vertical') == 1
    assert all(get_modality_kind(k).flip_negate == () and
               not get_modality_kind(k).unit_vectors
               for k in ('image', 'depth', 'label', 'edge', 'binary'))
    # The pad views are live dicts: MultiModalPad copies one with dict().
    assert dict(PAD_VALUE)['label'] == 255
    assert MODALITY_KINDS.get('depth') is get_modality_kind('depth')


def test_builtin_geometry_matches_direct_cv2_calls():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    labels = rng.integers(0, 40, (9, 11), dtype=np.uint8)
    np.testing.assert_array_equal(
        resize_map(rgb, 'image', (5, 7)),
        cv2.resize(rgb, (7, 5), interpolation=cv2.INTER_LINEAR))
    np.testing.assert_array_equal(
        resize_map(labels, 'label', (5, 7)),
        cv2.resize(labels, (7, 5), interpolation=_NEAREST))
    n = np.zeros((4, 5, 3), np.float32)
    n[..., 0], n[..., 2] = 0.6, 0.8
    flipped = flip_map(n, 'normals', 'horizontal')
    np.testing.assert_allclose(flipped[..., 0], -0.6)
    np.testing.assert_allclose(flipped[..., 2], 0.8)


def test_register_get_and_duplicate_error_names_the_kind():
    name = _name('thermal')
    kind = register_modality_kind(name, loader='float_tiff', channels=1,
                                  normalize=dict(mean=(0.5, ), std=(2., )))
    assert get_modality_kind(name) is kind
    assert get_modality_kind(f'mmmae.{name}') is kind  # scope prefix
    assert KIND_OF_MODALITY[name] == name  # a same-named modality
    assert PAD_VALUE[name] == 0 and INTERPOLATION[name] == cv2.INTER_LINEAR
    with pytest.raises(KeyError, match=f'modality kind "{name}" is already '
                       'registered.*force=True'):
        register_modality_kind(name, loader='float_tiff')
    # A plugin may replace it on purpose.
    new = register_modality_kind(name, loader='png_unit', force=True)
    assert get_modality_kind(name) is new and new.loader == 'png_unit'


def test_base_kind_and_derived_copy():
    name = _name('depth_tiff')
    kind = register_modality_kind(name, base='depth', loader='depth_tiff')
    assert (kind.interpolation, kind.pad_value, kind.normalize,
            kind.dtype) == ('nearest', 0, 'robust', 'float32')
    assert get_modality_kind('depth').loader == 'depth'  # base untouched
    derived = MODALITY_KINDS.get('depth')(loader='depth_exr')
    assert derived.loader == 'depth_exr' and derived.name == 'depth'


def test_config_declarations_are_idempotent_but_not_redefinable():
    name = _name('ir')
    spec = dict(name=name, loader='float_tiff', channels=1)
    assert declare_modality_kinds([spec]) == [name]
    assert declare_modality_kinds([dict(spec)]) == [name]  # train + val
    with pytest.raises(KeyError, match=f'"{name}" is already registered '
                       r"with other \['pad_value'\]"):
        declare_modality_kinds([dict(spec, pad_value=-1)])


@pytest.mark.parametrize('fields, match', [
    (dict(interpolation='cubic'), 'interpolation must be one of'),
    (dict(dtype='float16'), 'dtype must be one of'),
    (dict(channels=2, normalize=dict(mean=(0., ), std=(1., ))),
     'one value per channel'),
    (dict(normalize='zscore'), 'normalize must be None'),
    (dict(flip_negate=dict(horizontal=3), channels=2),
     'flip_negate channel 3'),
    (dict(colour='red'), r"unknown field\(s\) \['colour'\]"),
])
def test_invalid_kinds_name_the_kind_and_field(fields, match):
    name = _name('bad')
    with pytest.raises((ValueError, TypeError), match=match) as err:
        register_modality_kind(name, loader='float_tiff', **fields)
    assert name in str(err.value)
    assert name not in MODALITY_KINDS.module_dict


def test_unknown_kind_and_unmapped_modality_are_clear():
    with pytest.raises(UnknownModalityKindError,
                       match='unknown modality kind "nope".*image'):
        get_modality_kind('nope')
    with pytest.raises(UnknownModalityKindError,
                       match='modality "ir2" has no kind.*modality_kinds='
                       r'dict\(ir2=<kind>\)'):
        default_kind_of('ir2')
    with pytest.raises(UnknownModalityKindError, match='"nope"'):
        TRANSFORMS.build(dict(type='LoadMultiModalFromFile',
                              modality_kinds=dict(ir='nope')))
    name = _name('noloader')
    register_modality_kind(name, loader='no_such_loader')
    with pytest.raises(KeyError, match=f'"{name}" names loader '
                       '"no_such_loader"'):
        TRANSFORMS.build(dict(type='LoadMultiModalFromFile',
                              modality_kinds=dict(ir=name)))


def _write_tiff(path, arr):
    ok, buf = cv2.imencode('.tiff', arr)
    assert ok
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.tobytes())
    return str(path)


def test_a_new_kind_flows_from_file_to_tokens(tmp_path, png_writer):
    """Load -> resize -> flip -> pad -> pack -> normalise -> adapter, with
    a 2-channel "flow" kind whose x is negated by horizontal flips."""
    name = _name('flow')
    mean, std = (0.5, -1.), (2., 4.)
    spec = dict(name=name, loader='float_npy', channels=2,
                interpolation='nearest', pad_value=-7.,
                normalize=dict(mean=mean, std=std),
                flip_negate=dict(horizontal=0))
    h, w = 8, 12
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    flow = rng.normal(size=(h, w, 2)).astype(np.float32)
    (tmp_path / 'fl').mkdir()
    np.save(tmp_path / 'fl' / 'a.npy', flow)
    paths = dict(rgb=png_writer(str(tmp_path / 'rgb' / 'a.png'), rgb),
                 fl=str(tmp_path / 'fl' / 'a.npy'))
    pipeline = [
        TRANSFORMS.build(dict(type='LoadMultiModalFromFile',
                              modality_kinds=dict(fl=spec))),
        TRANSFORMS.build(dict(type='MultiModalResize', scale=(24, 16),
                              keep_ratio=False)),
        TRANSFORMS.build(dict(type='MultiModalRandomFlip', prob=1.)),
        TRANSFORMS.build(dict(type='MultiModalPad', size=(32, 32))),
        TRANSFORMS.build(dict(type='PackMultiModalInputs')),
    ]
    results = dict(rgb_path=paths['rgb'], fl_path=paths['fl'],
                   modalities=('rgb', 'fl'), targets=(),
                   img_path=paths['rgb'])
    for t in pipeline[:4]:
        results = t(results)
        if 'field_kinds' in results and t is pipeline[0]:
            assert results['field_kinds'] == dict(rgb='image', fl=name)
            np.testing.assert_array_equal(results['fl'], flow)
    # nearest x2 upsampling, then mirrored with x negated, then padded.
    up = cv2.resize(flow, (24, 16), interpolation=_NEAREST)
    want = up[:, ::-1].copy()
    want[..., 0] *= -1
    np.testing.assert_array_equal(results['fl'][:16, :24], want)
    assert (results['fl'][16:] == -7).all() and \
        (results['fl'][:, 24:] == -7).all()
    assert (results['rgb'][16:] == 0).all()  # the image kind pads 0
    packed = pipeline[4](results)
    x = packed['inputs']['fl']
    assert x.shape == (2, 32, 32) and x.dtype == torch.float32
    sample = packed['data_samples']
    assert sample.metainfo['modality_kinds'] == dict(rgb='image', fl=name)

    pre = MultiMAEDataPreprocessor()
    out = pre(dict(inputs=dict(rgb=[packed['inputs']['rgb']], fl=[x]),
                   data_samples=[sample]))['inputs']
    m = torch.tensor(mean).view(2, 1, 1)
    s = torch.tensor(std).view(2, 1, 1)
    torch.testing.assert_close(out['fl'][0], (x - m) / s)
    # The preprocessor's own mean/std for a modality win over the kind's.
    pre = MultiMAEDataPreprocessor(mean=dict(rgb=(0., ) * 3, fl=(0., 0.)),
                                   std=dict(rgb=(1., ) * 3, fl=(1., 1.)))
    own = pre(dict(inputs=dict(rgb=[packed['inputs']['rgb']], fl=[x]),
                   data_samples=[sample]))['inputs']
    torch.testing.assert_close(own['fl'][0], x)

    kind = get_modality_kind(name)
    adapter = MODELS.build(dict(type='PatchedInputAdapter',
                                in_channels=kind.channels, embed_dims=16,
                                patch_size=8, image_size=32, name='fl'))
    tokens, grid = adapter(out['fl'])
    assert tokens.shape == (1, 16, 16) and grid == (4, 4)
    backbone = MODELS.build(dict(
        type='MultiViT', arch=dict(embed_dims=32, depth=2, num_heads=2,
                                   mlp_ratio=2.),
        img_size=32, patch_size=8, out_indices=(1, ),
        input_adapters=dict(
            rgb=dict(type='PatchedInputAdapter', in_channels=3),
            fl=dict(type='PatchedInputAdapter',
                    in_channels=kind.channels))))
    feats = backbone(out)
    assert feats[0].shape[0] == 1 and torch.isfinite(feats[0]).all()


def test_loaded_channels_must_match_the_kind(tmp_path, png_writer):
    name = _name('ir3')
    rgb = np.zeros((4, 5, 3), np.uint8)
    path = _write_tiff(tmp_path / 'ir' / 'a.tiff',
                       np.ones((4, 5, 3), np.float32))
    load = TRANSFORMS.build(dict(
        type='LoadMultiModalFromFile',
        modality_kinds=dict(ir=dict(name=name, loader='float_tiff',
                                    channels=None))))
    out = load(dict(ir_path=path, modalities=('ir', ), targets=()))
    assert out['ir'].shape == (4, 5, 3)  # channels=None: any
    # A kind whose loader checks nothing: the transform checks the count.
    name1 = _name('ir1')
    register_modality_kind(name1, loader='png_unit', channels=1)
    rgb_path = png_writer(str(tmp_path / 'rgb' / 'a.png'), rgb)
    load = TRANSFORMS.build(dict(type='LoadMultiModalFromFile',
                                 modality_kinds=dict(ir=name1)))
    with pytest.raises(ValueError, match=f'{rgb_path}: ir \\(kind "{name1}"'
                       r'\) must have 1 channel\(s\)'):
        load(dict(ir_path=rgb_path, modalities=('ir', ), targets=()))


def test_preprocessor_builtin_names_keep_their_rules():
    """rgb without mean/std stays unnormalised, as before kinds existed."""
    s = SegDataSample()
    s.gt_depth_map = PixelData(data=torch.ones(1, 4, 4))
    rgb = torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8)
    pre = MultiMAEDataPreprocessor(mean=dict(), std=dict())
    out = pre(dict(inputs=dict(rgb=[rgb]), data_samples=[s]))
    torch.testing.assert_close(out['inputs']['rgb'][0], rgb.float())


def test_a_config_declared_kind_survives_pickling():
    """A worker started by spawn unpickles the pipeline: the kind the
    loading transform declared is registered there again."""
    import pickle
    name = _name('spawned')
    load = TRANSFORMS.build(dict(
        type='LoadMultiModalFromFile',
        modality_kinds=dict(ir=dict(name=name, loader='float_tiff'))))
    blob = pickle.dumps(load)
    kind = MODALITY_KINDS.module_dict.pop(name)  # as in a fresh process
    try:
        again = pickle.loads(blob)
        assert get_modality_kind(name) == kind
        assert again.modality_kinds == dict(ir=name)
    finally:
        MODALITY_KINDS.module_dict.setdefault(name, kind)


def test_pretraining_folders_take_a_custom_modality(tmp_path, png_writer):
    """MultiModalFolderDataset reads an ir/ folder given its suffixes; the
    pre-training pipeline crops and flips it with rgb."""
    from mmmae.datasets import MultiModalFolderDataset
    name = _name('ir_pt')
    rng = np.random.default_rng(0)
    for stem in ('a', 'b'):
        png_writer(str(tmp_path / 'rgb' / f'{stem}.jpg'),
                   rng.integers(0, 255, (40, 56, 3), dtype=np.uint8))
        _write_tiff(tmp_path / 'ir' / f'{stem}.tiff',
                    rng.random((40, 56), dtype=np.float32))
    with pytest.raises(ValueError, match=r"unknown modalities \['ir'\].*"
                       r"suffixes=dict\(ir="):
        MultiModalFolderDataset(str(tmp_path), modalities=('rgb', 'ir'))
    ds = MultiModalFolderDataset(
        str(tmp_path), modalities=('rgb', 'ir'),
        suffixes=dict(ir=('.tiff', )), pipeline=[
            dict(type='LoadMultiModalFromFile', modality_kinds=dict(
                ir=dict(name=name, loader='float_tiff', channels=1))),
            dict(type='MultiModalRandomResizedCrop', size=32),
            dict(type='MultiModalRandomFlip', prob=0.5),
            dict(type='PackMultiModalInputs')])
    item = ds[1]
    assert item['inputs']['ir'].shape == (1, 32, 32)
    assert item['data_samples'].metainfo['modality_kinds']['ir'] == name
