"""Fake, already preprocessed batches and the input size a config trains
at, for the analysis tools (``tools/analysis_tools/benchmark.py``,
``get_flops.py``), which time and count models without data on disk.

A model may define ``fake_batch(batch_size, input_size, device) ->
dict(inputs=..., data_samples=...)``; otherwise, for a model whose
``backbone`` has ``input_adapters`` (MultiViT), :func:`fake_batch` builds one
tensor per adapter in the preprocessed layout (rgb / depth (B, C, H, W)
standardised, semseg (B, H/4, W/4) labels) for the ``input_modalities`` the
model reads if it names them, the targets a pre-trainer decodes without
encoding them, and mmseg data samples with a target of every dense task
kind and the usual metainfo.
"""
from typing import Dict, List

import torch
from torch import nn

__all__ = ['fake_batch', 'config_input_size', 'default_input_size',
           'input_size_of']


def _adapter_inputs(model: nn.Module, B: int, H: int, W: int,
                    device) -> Dict[str, torch.Tensor]:
    from mmmae.models.adapters import PatchedInputAdapter, SemSegInputAdapter
    adapters = model.backbone.input_adapters
    names = list(getattr(model, 'input_modalities', None) or adapters)
    inputs = {}
    for name in names:
        adapter = adapters[name]
        if isinstance(adapter, SemSegInputAdapter):
            s = adapter.patch_size // adapter.kernel
            inputs[name] = torch.randint(0, adapter.num_classes,
                                         (B, H // s, W // s), device=device)
        elif isinstance(adapter, PatchedInputAdapter):
            inputs[name] = torch.randn(B, adapter.in_channels, H, W,
                                       device=device)
        else:
            raise TypeError(f'fake_batch: no fake input for adapter '
                            f'"{name}" ({type(adapter).__name__}); give the '
                            'model a fake_batch() method')
    # Targets that a pre-trainer decodes without encoding them.
    for dec in getattr(model, 'decoders', {}).values():
        if dec.task not in inputs:
            if dec.stride_level > 1:
                inputs[dec.task] = torch.randint(
                    0, dec.out_channels,
                    (B, H // dec.stride_level, W // dec.stride_level),
                    device=device)
            else:
                inputs[dec.task] = torch.randn(B, dec.out_channels, H, W,
                                               device=device)
    return inputs


def _num_classes(model: nn.Module) -> int:
    """Smallest class count among the heads (labels valid for all)."""
    counts = [
        m.num_classes for name, m in model.named_modules()
        if not name.startswith('backbone')
        and isinstance(getattr(m, 'num_classes', None), int)
        and m.num_classes > 1
    ]
    return min(counts) if counts else 2


def _dense_samples(model: nn.Module, B: int, H: int, W: int,
                   modalities, device) -> List:
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    classes = _num_classes(model)
    samples = []
    for _ in range(B):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(
            data=torch.randint(0, classes, (1, H, W), device=device))
        s.gt_depth_map = PixelData(
            data=torch.rand(1, H, W, device=device) * 9.5 + 0.5)
        # The other dense kinds' targets (mmmae/models/heads/task_kind.py).
        s.gt_normals = PixelData(data=torch.nn.functional.normalize(
            torch.randn(3, H, W, device=device), dim=0))
        for field in ('gt_edge', 'gt_sal'):
            s.set_field(PixelData(data=(torch.rand(
                1, H, W, device=device) > 0.9).long()), field)
        s.gt_parts = PixelData(
            data=torch.randint(0, classes, (1, H, W), device=device))
        s.set_metainfo(dict(
            img_shape=(H, W), ori_shape=(H, W), pad_shape=(H, W),
            batch_input_shape=(H, W), padding_size=(0, 0, 0, 0),
            scale_factor=(1., 1.), flip=False, flip_direction=None,
            img_path='fake.png', modalities=tuple(modalities)))
        samples.append(s)
    return samples


def fake_batch(model: nn.Module, batch_size: int, input_size, device
               ) -> dict:
    if hasattr(model, 'fake_batch'):
        return model.fake_batch(batch_size, input_size, device)
    if not hasattr(getattr(model, 'backbone', None), 'input_adapters'):
        raise TypeError(
            f'fake_batch cannot build inputs for {type(model).__name__}: it '
            'has neither a fake_batch(batch_size, input_size, device) '
            'method nor a backbone with input_adapters')
    H, W = input_size
    inputs = _adapter_inputs(model, batch_size, H, W, device)
    return dict(inputs=inputs,
                data_samples=_dense_samples(model, batch_size, H, W,
                                            list(inputs), device))


def _pipeline_of(dataset) -> list:
    """The pipeline of a dataset config, looking through wrappers."""
    if not dataset:
        return []
    if dataset.get('pipeline'):
        return list(dataset['pipeline'])
    if dataset.get('dataset'):  # RepeatDataset, ClassBalancedDataset
        return _pipeline_of(dataset['dataset'])
    if dataset.get('datasets'):  # ConcatDataset
        return _pipeline_of(dataset['datasets'][0])
    return []


def _as_hw(value):
    if isinstance(value, int):
        return (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, int) for v in value):
        return tuple(value)
    return None


def config_input_size(cfg):
    """The training crop of the config's train pipeline, (H, W), or None.

    Reads the last transform with a ``crop_size`` (mmseg / mmmae crops,
    (h, w)) or the ``size`` of a random resized crop.
    """
    loader = cfg.get('train_dataloader') or {}
    size = None
    for t in _pipeline_of(loader.get('dataset')):
        kind = str(t.get('type', ''))
        if 'crop_size' in t and _as_hw(t['crop_size']):
            size = _as_hw(t['crop_size'])
        elif 'ResizedCrop' in kind and _as_hw(t.get('size')):
            size = _as_hw(t['size'])
        elif 'ResizedCrop' in kind and isinstance(t.get('scale'), int):
            size = _as_hw(t['scale'])  # mmpretrain: scale is the side
    return size


def default_input_size(model: nn.Module):
    """The size the model was built for: a MultiViT's stored position grid,
    else the first submodule with ``grid_size`` and ``patch_size`` (the CLIP
    image tower), else 224 x 224."""
    adapters = getattr(getattr(model, 'backbone', None), 'input_adapters',
                       None)
    if adapters:
        first = next(iter(adapters.values()))
        return tuple(int(s) * first.patch_size
                     for s in first.pos_embed.shape[-2:])
    for module in model.modules():
        grid = getattr(module, 'grid_size', None)
        patch = getattr(module, 'patch_size', None)
        if isinstance(grid, (tuple, list)) and len(grid) == 2 and \
                isinstance(patch, int):
            return (int(grid[0]) * patch, int(grid[1]) * patch)
    return (224, 224)


def input_size_of(cfg, model: nn.Module, override=None) -> tuple:
    """``((H, W), source)``: ``override`` if given, else the config's train
    crop, else the size the model was built for (see above)."""
    if override:
        if len(override) == 1:
            override = (override[0], override[0])
        return tuple(int(s) for s in override), '--input-size'
    size = config_input_size(cfg)
    if size:
        return size, 'train pipeline crop'
    return default_input_size(model), 'model'
