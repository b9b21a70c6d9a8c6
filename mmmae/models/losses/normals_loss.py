"""L1 loss on L2-normalised surface-normal predictions.

The recipe of the dense multi-task literature (ATRC ``L1Loss(normalize=True)``
in ``src/model/criterion.py``, reused by InvPT and TaskPrompter as
``losses/loss_functions.py: L1Loss``):

- the prediction is L2-normalised over its 3 channels;
- a pixel is valid when no channel of the ground truth equals the ignore
  value (255). The literature's ``AddIgnoreRegions`` transform first turns
  ground-truth pixels of zero norm into 255, so a zero-norm pixel is invalid
  here as well, whether or not the pipeline did that;
- the loss is the sum over valid pixels of the L1 distance summed over the
  3 channels, divided by the number of valid pixels (not of elements: the
  reference counts the (B, 1, H, W) mask).

Ground truth is not re-normalised, as in the reference (resized training
maps are slightly shorter than unit length at discontinuities).
"""
from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmmae.registry import MODELS


def normals_valid_mask(target: Tensor, ignore_index: float = 255) -> Tensor:
    """Valid pixels of a normals map: no channel equal to ``ignore_index``
    and a non-zero vector.

    Shapes:
        target: (B, 3, H, W) -> (B, 1, H, W) bool
    """
    not_ignored = (target != ignore_index).all(dim=1, keepdim=True)
    nonzero = (target != 0).any(dim=1, keepdim=True)
    return not_ignored & nonzero


@MODELS.register_module()
class NormalsL1Loss(nn.Module):
    """L1 loss between the L2-normalised prediction and the ground-truth
    normals, over valid pixels (see the module docstring).

    Args:
        ignore_index (float): Ground-truth value marking an ignored pixel
            (in any channel). Defaults to 255 (the literature's).
        loss_weight (float): Multiplier of the loss. Defaults to 1.0 (the
            literature weighs the normals task 10x in the multi-task sum,
            which belongs in this argument).
        loss_name (str): Key in the loss dict. Defaults to
            ``'loss_normals'``.

    Shapes:
        pred: (B, 3, H, W) unnormalised; target: (B, 3, H, W) unit vectors
        (255 or all-zero = invalid); valid_mask: optional (B, 1, H, W) or
        (B, H, W) -> scalar
    """

    def __init__(self,
                 ignore_index: float = 255,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_normals'):
        super().__init__()
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                valid_mask: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        name = type(self).__name__
        if pred.dim() != 4 or pred.shape[1] != 3:
            raise ValueError(f'{name}: prediction must be (B, 3, H, W), got '
                             f'{tuple(pred.shape)}')
        if target.shape != pred.shape:
            raise ValueError(f'{name}: target {tuple(target.shape)} does not '
                             f'match prediction {tuple(pred.shape)}')
        target = target.to(pred.dtype)
        valid = normals_valid_mask(target, self.ignore_index)  # B 1 H W
        if valid_mask is not None:
            if valid_mask.dim() == 3:
                valid_mask = valid_mask.unsqueeze(1)
            if valid_mask.shape != valid.shape:
                raise ValueError(f'{name}: valid_mask '
                                 f'{tuple(valid_mask.shape)} does not match '
                                 f'{tuple(valid.shape)}')
            valid = valid & valid_mask.bool()
        pred = F.normalize(pred, p=2, dim=1)
        # Invalid pixels are zeroed (not indexed away) so that the graph and
        # DDP's gradient buckets see every element.
        err = (pred - target).abs().sum(dim=1, keepdim=True) * valid
        n_valid = valid.sum().clamp(min=1)
        return self.loss_weight * err.sum() / n_valid

    @property
    def loss_name(self) -> str:
        return self._loss_name
