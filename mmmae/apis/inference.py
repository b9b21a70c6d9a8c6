"""From an image file (or array) to a depth map and a label map in a few lines.

Example::

    from mmmae.apis import init_model, inference_model
    model = init_model('configs/multimae/<config>.py', 'work_dirs/x.pth')
    result = inference_model(model, 'demo.png')            # rgb only
    result = inference_model(model, dict(rgb='a.png', depth='a_d.png'))
    depth = result.pred_depth_map.data    # (1, H, W) metres
    labels = result.pred_sem_seg.data     # (1, H, W) class ids

    # A CLIP multi-task classifier scores against one task's classes:
    clip = init_model('configs/mmap/<config>.py', 'work_dirs/y.pth')
    sample = inference_model(clip, 'photo.jpg', task='Clipart')
    sample.pred_score                     # (C_task,) softmax scores
"""
import copy
import os.path as osp
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmmae.registry import MODELS, TRANSFORMS
from .classification import classify, is_classifier
from mmmae.utils.delta_checkpoint import load_checkpoint

ImageLike = Union[str, Path, np.ndarray]
_LOADER = 'LoadMultiModalFromFile'


def init_model(config: Union[str, Path, Config],
               checkpoint: Optional[str] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None,
               base_checkpoint: Union[None, str, Sequence[str]] = None
               ) -> torch.nn.Module:
    """Build a model from a config and load a checkpoint, in eval mode.

    Pretrained backbone weights named in the config (``init_cfg``) are not
    loaded: the checkpoint holds the fine-tuned model.

    Args:
        config (str | Path | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file; None leaves the weights
            random (with a warning).
        device (str): e.g. ``'cpu'`` or ``'cuda:0'``. Defaults to 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config.
        base_checkpoint (str | list[str], optional): For a trainable-only
            (delta) checkpoint of a prompt run: the base checkpoint(s) to
            use instead of the path(s) it recorded. The base is loaded
            first and checked against the delta's fingerprint.

    Returns:
        nn.Module: the model, with ``cfg`` and ``dataset_meta`` attached.

    Raises:
        WrongModelCheckpointError: ``checkpoint`` holds another model than
            the config builds (its ``meta['mmmae_model']`` record, or the
            trained parameters it lacks); the message names both.
    """
    from mmmae.utils import load_config, register_all_modules
    register_all_modules(init_default_scope=False)
    if isinstance(config, (str, Path)):
        cfg = load_config(str(config), cfg_options)
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
    else:
        raise TypeError('config must be a file path or a Config, got '
                        f'{type(config).__name__}')
    init_default_scope(cfg.get('default_scope', 'mmmae'))
    model = MODELS.build(cfg.model)
    dataset_meta = None
    if checkpoint is not None:
        # Full or delta checkpoint: a delta one loads its base first.
        ckpt = load_checkpoint(model, checkpoint,
                               base_checkpoint=base_checkpoint,
                               map_location='cpu')
        dataset_meta = ckpt.get('meta', {}).get('dataset_meta')
    else:
        warnings.warn('init_model: no checkpoint given, the weights are '
                      'random')
    if dataset_meta is None:
        from mmmae.datasets.nyuv2_classes import NYUV2_CLASSES, NYUV2_PALETTE
        dataset_meta = dict(classes=NYUV2_CLASSES, palette=NYUV2_PALETTE)
    model.cfg = cfg
    model.dataset_meta = dataset_meta
    model.to(device)
    model.eval()
    return model


def _test_pipeline(cfg: Config) -> list:
    """The config's test pipeline: ``test_pipeline``, else the test (or,
    for pre-training configs, the val) dataloader's."""
    pipeline = cfg.get('test_pipeline')
    for split in ('test', 'val'):
        if pipeline is not None:
            break
        try:
            pipeline = cfg[f'{split}_dataloader'].dataset.pipeline
        except (AttributeError, KeyError, TypeError):
            pass
    if pipeline is None:
        raise KeyError('the config has no test_pipeline, nor a pipeline in '
                       'test_dataloader.dataset or val_dataloader.dataset')
    return copy.deepcopy(list(pipeline))


def _split_pipeline(pipeline: list):
    """(loader config for inputs, the other transforms); targets dropped."""
    loader, rest = None, []
    for t in pipeline:
        if t['type'].split('.')[-1] == _LOADER:
            if t.get('load_inputs', True) and loader is None:
                loader = dict(t, load_targets=False)
            continue  # a targets-only loader: nothing to load at inference
        rest.append(t)
    return loader or dict(type=_LOADER, load_targets=False), rest


def _load_item(item: Dict[str, ImageLike], loader, modalities) -> dict:
    """Pipeline ``results`` of one sample: files decoded by the config's
    loader, arrays taken as they are (rgb (H, W, 3) uint8 RGB; depth
    (H, W) float metres, or uint16 millimetres)."""
    from mmmae.datasets.transforms._fields import KIND_OF_MODALITY
    missing = [m for m in modalities if m not in item]
    if missing:
        raise KeyError(f'the model reads {list(modalities)}; the input lacks '
                       f'{missing} (got {list(item)})')
    files = {m: str(v) for m, v in item.items()
             if m in modalities and isinstance(v, (str, Path))}
    arrays = {m: v for m, v in item.items()
              if m in modalities and isinstance(v, np.ndarray)}
    odd = [m for m in modalities if m not in files and m not in arrays]
    if odd:
        raise TypeError(f'input {odd} must be a file path or a numpy array')
    results = dict(modalities=tuple(files), targets=())
    for m, path in files.items():
        if not osp.isfile(path):
            raise FileNotFoundError(f'{m} input file not found: {path}')
        results[f'{m}_path'] = path
    if files:
        results = loader(results)
    kinds = dict(results.get('field_kinds') or {})
    for m, arr in arrays.items():
        if m == 'depth':
            arr = arr.astype(np.float32) / 1000. if arr.dtype == np.uint16 \
                else arr.astype(np.float32)
            arr = arr.reshape(arr.shape[:2])
        elif m == 'rgb' and (arr.ndim != 3 or arr.shape[2] != 3):
            raise ValueError(f'an rgb array must be (H, W, 3), got '
                             f'{arr.shape}')
        results[m] = arr
        # The config's kind for the name (e.g. ir -> infrared), else default.
        kinds[m] = getattr(loader, 'modality_kinds', {}).get(m) or \
            KIND_OF_MODALITY[m]
    shapes = {m: results[m].shape[:2] for m in modalities}
    if len(set(shapes.values())) != 1:
        raise ValueError(f'input modalities differ in size (H, W): {shapes}')
    shape = next(iter(shapes.values()))
    results.update(modalities=tuple(modalities), field_kinds=kinds,
                   img_shape=shape, ori_shape=shape)
    results['img_path'] = files.get('rgb') or next(iter(files.values()),
                                                   None)
    return results


def inference_model(model: torch.nn.Module,
                    inputs: Union[ImageLike, Dict[str, ImageLike],
                                  Sequence],
                    task: Optional[str] = None):
    """Predict depth and/or labels (or class scores) for one sample or a
    list of them.

    Args:
        model (nn.Module): From ``init_model`` (needs ``model.cfg``).
        inputs: An rgb image (path or (H, W, 3) uint8 RGB array), a dict
            ``{modality: path or array}`` (e.g. ``dict(rgb=..., depth=...)``),
            or a list of either. A classifier takes images only.
        task (str, optional): For a CLIP multi-task classifier: the task
            (domain) whose classes score the images; optional when it has
            one task. Dense models take none.

    Returns:
        SegDataSample | list: with ``pred_depth_map`` (1, H, W) metres and/or
        ``pred_sem_seg`` (1, H, W) / ``seg_logits`` (K, H, W), at the input's
        original size. For a classifier, mmpretrain ``DataSample``s with
        ``pred_score`` (C_task,) and ``pred_label`` over ``task``'s classes.

    Raises:
        UnknownTaskError: a classifier given a task it does not know (the
            message lists its tasks).
    """
    if not hasattr(model, 'cfg'):
        raise AttributeError('inference_model needs model.cfg; build the '
                             'model with mmmae.apis.init_model')
    single = not isinstance(inputs, (list, tuple))
    items = [inputs] if single else list(inputs)
    if is_classifier(model):
        results = classify(model, items, task)
        return results[0] if single else results
    if task is not None:
        raise TypeError(f'task="{task}" is for the multi-task classifiers; '
                        f'{type(model).__name__} predicts all its tasks')
    items = [it if isinstance(it, dict) else dict(rgb=it) for it in items]
    loader_cfg, rest = _split_pipeline(_test_pipeline(model.cfg))
    init_default_scope(model.cfg.get('default_scope', 'mmmae'))
    loader = TRANSFORMS.build(loader_cfg)
    pipeline = Compose([TRANSFORMS.build(t) for t in rest])
    modalities = getattr(model, 'input_modalities', None)
    data = []
    for item in items:
        names = modalities or tuple(item)
        data.append(pipeline(_load_item(item, loader, names)))
    with torch.no_grad():
        results: List = model.test_step(pseudo_collate(data))
    return results[0] if single else results
