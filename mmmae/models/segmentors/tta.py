"""Test-time augmentation for ``MultiTaskSegmentor`` (``tools/test.py --tta``).

mmseg's way: the ``tta_pipeline`` (mmcv ``TestTimeAug``) turns each image
into several views (scales x flips); the segmentor predicts each view and,
through each view's ``flip`` / ``img_shape`` metainfo, restores it to the
original image (``MultiTaskSegmentor._restore``: un-flip, with the x sign of
normals negated, and resize to ``ori_shape``); this wrapper then merges the
restored views per task, by the task's kind.
"""
from typing import List

import torch
import torch.nn.functional as F
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.registry import MODELS
from ..heads.task_kind import logits_field


@MODELS.register_module()
class MultiTaskTTAModel(BaseTTAModel):
    """Merge the augmented views of a ``MultiTaskSegmentor`` per task kind.

    * segmentation-like, K > 1 classes: the mean of the views' softmax
      probabilities, then argmax (mmseg's ``SegTTAModel``); the mean
      probabilities go to the logits field (``seg_logits`` /
      ``<name>_logits``);
    * segmentation-like, 1 class: the mean of the views' sigmoid
      probabilities (the segmentor already stores them), then the head's
      ``threshold``;
    * depth: the mean in metres;
    * normals: the mean of the un-flipped unit vectors, renormalised;
    * boundary, saliency: the mean probability.

    Ground-truth fields and metainfo come from the first view (the
    pipeline loads ground truth after the flip, so it is never flipped).

    Args:
        module (dict | nn.Module): The segmentor; ``tools/test.py --tta``
            sets it to the config's ``model``.

    Shapes:
        data_samples_list: per image, a list of V views' data samples, each
        with per-task predictions at ``ori_shape`` -> per image one data
        sample with the merged predictions at ``ori_shape``.
    """

    def merge_preds(self, data_samples_list: List[List[SegDataSample]]
                    ) -> List[SegDataSample]:
        segmentor = self.module
        merged = []
        for views in data_samples_list:
            first = views[0]
            out = SegDataSample(metainfo=first.metainfo)
            for key in first.keys():
                if key.startswith('gt_'):
                    out.set_data({key: first.get(key)})
            for task, pred in segmentor.pred_fields.items():
                out.set_data(self._merge_task(segmentor, task, pred, views))
            merged.append(out)
        return merged

    @staticmethod
    def _mean(views: List[SegDataSample], field: str, fn=None) -> torch.Tensor:
        maps = [v.get(field).data for v in views]
        if fn is not None:
            maps = [fn(m) for m in maps]
        return torch.stack(maps).mean(0)

    def _merge_task(self, segmentor, task: str, pred: str,
                    views: List[SegDataSample]) -> dict:
        kind = segmentor.task_kind(task)
        if kind.is_classification:
            logits = logits_field(pred)
            if views[0].get(logits).data.shape[0] > 1:
                probs = self._mean(views, logits, lambda x: x.softmax(dim=0))
                label = probs.argmax(dim=0, keepdim=True)
            else:
                # MultiTaskSegmentor stores sigmoid probabilities for K = 1.
                probs = self._mean(views, logits)
                threshold = segmentor.decode_heads[task].threshold
                label = (probs > threshold).long()
            return {logits: PixelData(data=probs), pred: PixelData(data=label)}
        mean = self._mean(views, pred)
        if kind.activation == 'l2norm':
            # Unit vectors averaged are shorter than 1.
            mean = F.normalize(mean, p=2, dim=0)
        return {pred: PixelData(data=mean)}
