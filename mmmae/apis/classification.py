"""Inputs of the CLIP multi-task classifiers: images -> a batch for one task.

A ``MultiTaskCLIPClassifier`` scores an image against the classes of one
task (domain), named in the data sample's metainfo ``task``. The config's
test pipeline (mmpretrain ``LoadImageFromFile`` + ``PackInputs``) is used
without its loader: files are read here (BGR, as the loader does) and arrays
are taken as RGB, as everywhere in ``mmmae.apis``.
"""
import copy
import os.path as osp
from pathlib import Path
from typing import Callable, Optional, Sequence

import mmcv
import numpy as np
import torch.nn as nn
from mmcv.transforms import Compose
from mmengine.registry import init_default_scope

from mmmae.registry import TRANSFORMS

__all__ = ['UnknownTaskError', 'is_classifier', 'resolve_task',
           'build_classification_pipeline', 'classify']

_LOADERS = ('LoadImageFromFile', )


class UnknownTaskError(KeyError):
    """A task (domain) the classifier has no classes for."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def is_classifier(model: nn.Module) -> bool:
    """A multi-task classifier: it has tasks and per-task class names."""
    return hasattr(model, 'tasks') and isinstance(
        getattr(model, 'class_names', None), dict)


def resolve_task(model: nn.Module, task: Optional[str]) -> str:
    """``task``, checked; None is allowed for a single-task model.

    Raises:
        UnknownTaskError: an unknown task, or None for several tasks; the
            message lists the known ones.
    """
    tasks = list(model.tasks)
    if task is None:
        if len(tasks) == 1:
            return tasks[0]
        raise UnknownTaskError(f'the classifier has tasks {tasks}; pass '
                               'task=<one of them>')
    if task not in tasks:
        raise UnknownTaskError(f'unknown task "{task}": the classifier '
                               f'knows the tasks {tasks}')
    return task


def build_classification_pipeline(cfg) -> Callable:
    """``(image path or RGB array, task) -> packed sample`` from the config's
    test pipeline (``test_pipeline`` or ``test_dataloader``'s)."""
    pipeline = cfg.get('test_pipeline')
    if pipeline is None:
        try:
            pipeline = cfg.test_dataloader.dataset.pipeline
        except AttributeError:
            raise KeyError('the config has neither test_pipeline nor '
                           'test_dataloader.dataset.pipeline') from None
    pipeline = [t for t in copy.deepcopy(list(pipeline))
                if t['type'].split('.')[-1] not in _LOADERS]
    init_default_scope(cfg.get('default_scope', 'mmmae'))
    transforms = Compose([TRANSFORMS.build(t) for t in pipeline])

    def load(image, task: str) -> dict:
        if isinstance(image, (str, Path)):
            if not osp.isfile(str(image)):
                raise FileNotFoundError(f'image file not found: {image}')
            img = mmcv.imread(str(image))  # BGR, as LoadImageFromFile
            if img is None:
                raise ValueError(f'cannot decode the image {image}')
            path = str(image)
        elif isinstance(image, np.ndarray):
            if image.ndim != 3 or image.shape[2] != 3:
                raise ValueError('an image array must be (H, W, 3) RGB, got '
                                 f'{image.shape}')
            img, path = np.ascontiguousarray(image[..., ::-1]), None
        else:
            raise TypeError('an input must be an image path or a (H, W, 3) '
                            f'array, got {type(image).__name__}')
        results = dict(img=img, img_shape=img.shape[:2],
                       ori_shape=img.shape[:2], task=task)
        if path is not None:
            results['img_path'] = path
        packed = transforms(results)
        packed['data_samples'].set_metainfo(dict(task=task))
        return packed

    return load


def classify(model: nn.Module, images: Sequence, task: Optional[str],
             pipeline: Optional[Callable] = None) -> list:
    """mmpretrain ``DataSample``s (``pred_score``, ``pred_label``) of the
    images, all scored against ``task``'s classes."""
    import torch
    from mmengine.dataset import pseudo_collate
    task = resolve_task(model, task)
    pipeline = pipeline or build_classification_pipeline(model.cfg)
    data = pseudo_collate([pipeline(img, task) for img in images])
    with torch.no_grad():
        return model.test_step(data)
