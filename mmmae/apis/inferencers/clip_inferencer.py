"""Inferencer of the CLIP multi-task classifiers (MmAP, CoOp, MaPLe, VPT)."""
import os.path as osp
from typing import List, Optional

import numpy as np
import torch.nn as nn

from mmmae.registry import INFERENCERS
from mmmae.visualization import annotate as A
from ..classification import (build_classification_pipeline, is_classifier,
                              resolve_task)
from .base import MMMAEInferencer


@INFERENCERS.register_module()
class MultiTaskCLIPInferencer(MMMAEInferencer):
    """Class scores of images within one task (domain) of a CLIP classifier.

    Example::

        inferencer = MultiTaskCLIPInferencer(
            'configs/mmap/<config>.py', 'work_dirs/<run>/iter_300.pth')
        out = inferencer('photos/', task='Clipart', out_dir='outputs')
        out['predictions'][0]['pred_class']    # e.g. 'red'

    Args:
        model, weights, device, cfg_options, show_progress: See
            :class:`MMMAEInferencer`.

    Inputs: an image (path or (H, W, 3) uint8 RGB array), a folder, or a
    list. ``task=`` (a call argument) names the task whose classes score
    them; it may be left out for a single-task model. An unknown task is an
    :class:`~mmmae.apis.classification.UnknownTaskError` listing the known
    ones.

    Returns (``__call__``): ``predictions``, per input a dict with ``task``,
    ``pred_label`` (int), ``pred_class`` (str), ``pred_score`` (float),
    ``pred_scores`` ((C_task,) float32 softmax over the task's classes) and
    ``topk`` (``[(class, score), ...]``, best first); ``visualization``:
    the image (enlarged to at least 160 px) titled ``task <task>``, above
    ``pred: <class> (<score>)`` and the next classes of the top-k.
    ``out_dir`` receives ``<name>.png`` (that picture) per input.
    """

    preprocess_kwargs = {'task'}
    visualize_kwargs = {'topk'}

    def _check_model(self, model: nn.Module) -> None:
        if not is_classifier(model):
            raise TypeError(
                f'MultiTaskCLIPInferencer takes multi-task classifiers '
                f'(MultiTaskCLIPClassifier); {type(model).__name__} is not '
                'one')

    @property
    def tasks(self) -> List[str]:
        return list(self.model.tasks)

    def _init_pipeline(self, cfg):
        return build_classification_pipeline(cfg)

    def preprocess(self, inputs: list, batch_size: int = 1,
                   task: Optional[str] = None):
        task = resolve_task(self.model, task)
        chunks = self._get_chunk_data(
            (self.pipeline(img, task) for img in inputs), batch_size)
        yield from map(self.collate_fn, chunks)

    def _result(self, sample, topk: int = 5) -> dict:
        task = sample.metainfo['task']
        classes = self.model.class_names[task]
        scores = sample.pred_score.detach().cpu().float().numpy()
        order = np.argsort(-scores)[:topk]
        label = int(order[0])
        return dict(task=task, pred_label=label, pred_class=classes[label],
                    pred_score=float(scores[label]), pred_scores=scores,
                    topk=[(classes[i], float(scores[i])) for i in order])

    def _image(self, item) -> np.ndarray:
        if isinstance(item, np.ndarray):
            return item.astype(np.uint8)
        import mmcv
        return mmcv.imread(str(item), channel_order='rgb')

    def visualize(self, inputs: list, preds: list, names: List[str],
                  show: bool = False, out_dir: Optional[str] = None,
                  topk: int = 3) -> List[np.ndarray]:
        pictures = []
        for item, sample, name in zip(inputs, preds, names):
            result = self._result(sample, topk)
            # Small images (32 px toys) get enlarged so that the text
            # under them (white strip, readable on any image) fits.
            picture = A.classification_panel(
                self._image(item), None, result['pred_class'],
                result['pred_score'], title=f'task {result["task"]}',
                extra=[f'top {i + 2}: {c} ({s:.2f})'
                       for i, (c, s) in enumerate(result['topk'][1:])])
            self._show_and_save(picture, name, show, out_dir)
            pictures.append(picture)
        return pictures

    def postprocess(self, preds: list, visualization: list,
                    return_datasamples: bool = False,
                    names: Optional[List[str]] = None,
                    out_dir: Optional[str] = None) -> dict:
        results = preds if return_datasamples else [
            self._result(s) for s in preds]
        return dict(predictions=results, visualization=visualization)

    def output_files(self, name: str, out_dir: str, **kwargs) -> List[str]:
        return [osp.join(out_dir, f'{name}.png')]
