"""restrict_input_modalities: an RGB-D segmentor run on any subset of its
inputs, the readout fallbacks, and the errors."""
import pytest
import torch

from mmmae.apis.modalities import (ModalitySubsetError, UnknownModalityError,
                                   describe_modalities,
                                   restrict_input_modalities,
                                   set_dataset_modalities)
from mmmae.registry import MODELS


def _segmentor(readout):
    adapters = dict(rgb=dict(type='PatchedInputAdapter', in_channels=3),
                    depth=dict(type='PatchedInputAdapter', in_channels=1))
    return MODELS.build(dict(
        type='MultiTaskSegmentor',
        data_preprocessor=dict(type='MultiMAEDataPreprocessor',
                               size_divisor=16),
        backbone=dict(type='MultiViT', arch='tiny', out_indices=(0, 1),
                      input_adapters=adapters),
        input_modalities=('rgb', 'depth'),
        readout=readout,
        decode_heads=dict(semseg=dict(type='ConvNeXtHead', in_channels=32,
                                      channels=8, num_blocks=1,
                                      num_classes=5)))).eval()


def _predict(model, names):
    inputs = dict(rgb=torch.rand(1, 3, 32, 32), depth=torch.rand(1, 1, 32, 32))
    with torch.no_grad():
        return model.predict({m: inputs[m] for m in names})[0]


@pytest.mark.parametrize('subset', [('rgb', ), ('depth', ), ('depth', 'rgb')])
def test_mean_readout_runs_any_subset(subset):
    model = _segmentor(dict(modalities=None, mode='mean'))
    report = restrict_input_modalities(model, subset)
    # The backbone's order, whatever order was asked for.
    assert report['used'] == [m for m in ('rgb', 'depth') if m in subset]
    assert report['trained'] == ['rgb', 'depth'] and not report['fallbacks']
    assert model.input_modalities == tuple(report['used'])
    assert _predict(model, subset).pred_sem_seg.shape == (32, 32)
    assert 'input modalities used: ' + ', '.join(report['used']) in \
        describe_modalities(report)


def test_rgb_only_ignores_depth_and_differs_from_rgbd():
    model = _segmentor(dict(modalities=None, mode='mean'))
    both = _predict(model, ('rgb', 'depth')).seg_logits.data
    restrict_input_modalities(model, 'rgb')
    torch.manual_seed(0)
    rgb = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        # A depth input in the batch is not read any more.
        a = model.predict(dict(rgb=rgb, depth=torch.rand(1, 1, 32, 32)))[0]
        b = model.predict(dict(rgb=rgb, depth=torch.zeros(1, 1, 32, 32)))[0]
    torch.testing.assert_close(a.seg_logits.data, b.seg_logits.data)
    assert not torch.allclose(a.seg_logits.data, both)


def test_explicit_mean_readout_falls_back_to_the_kept_modalities():
    model = _segmentor(dict(modalities=('rgb', 'depth'), mode='mean'))
    report = restrict_input_modalities(model, ['depth'])
    assert report['fallbacks'] == [
        "semseg: readout mean of ['depth'] (trained on ['rgb', 'depth'])"]
    assert model.readouts['semseg'].modalities == ('depth', )
    assert _predict(model, ('depth', )).pred_sem_seg.shape == (32, 32)


def test_concat_readout_needing_a_dropped_modality_fails_clearly():
    model = _segmentor(dict(modalities=('rgb', ), mode='concat'))
    restrict_input_modalities(model, ['rgb'])  # rgb kept: fine
    with pytest.raises(ModalitySubsetError,
                       match=r"decode_heads.semseg .*drop \['rgb'\]"):
        restrict_input_modalities(model, ['depth'])


def test_unknown_modality_names_it_and_the_known_ones():
    model = _segmentor(None)
    with pytest.raises(UnknownModalityError,
                       match=r"\['nir'\] have no input adapter.*"
                       r"knows \['rgb', 'depth'\]"):
        restrict_input_modalities(model, ['rgb', 'nir'])
    assert model.input_modalities == ('rgb', 'depth')  # left unchanged


def test_set_dataset_modalities_reaches_wrapped_datasets():
    cfg = dict(type='ConcatDataset', datasets=[
        dict(type='A', modalities=('rgb', 'depth')),
        dict(type='B', dataset=dict(modalities=('rgb', 'depth')))])
    set_dataset_modalities(cfg, ['depth'])
    assert cfg['datasets'][0]['modalities'] == ('depth', )
    assert cfg['datasets'][1]['dataset']['modalities'] == ('depth', )
