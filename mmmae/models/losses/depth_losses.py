"""Depth regression losses over valid pixels (ground truth > 0).

Ground truth follows the data contract: metres, 0 marks an invalid pixel.

- ``BerHuLoss``: the reverse Huber loss of Laina et al. (3DV 2016), the loss
  of MultiMAE's NYUv2 depth recipe; the threshold is c = 0.2 x the largest
  absolute error over the valid pixels of the batch (detached).
- ``MultiMAESiLogLoss``: the scale-invariant log loss of Eigen et al. (NeurIPS 2014).
  mmseg ships a ``MultiMAESiLogLoss`` that reads the same gt format (it treats
  gt <= eps as invalid), but an image without any valid pixel gives
  ``sqrt(0)`` and a NaN gradient there, so this one drops such images and
  clamps the variance before the root.
"""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS


def _valid_mask(pred: Tensor, target: Tensor,
                valid_mask: Optional[Tensor], name: str) -> Tensor:
    if pred.shape != target.shape:
        raise ValueError(f'{name}: prediction {tuple(pred.shape)} and target '
                         f'{tuple(target.shape)} differ in shape')
    valid = (target > 0) & torch.isfinite(target)
    if valid_mask is not None:
        if valid_mask.shape != target.shape:
            raise ValueError(f'{name}: valid_mask {tuple(valid_mask.shape)} '
                             f'does not match target {tuple(target.shape)}')
        valid = valid & valid_mask.bool()
    return valid


@MODELS.register_module()
class BerHuLoss(nn.Module):
    """Reverse Huber (BerHu) loss over valid depth pixels.

    ``L(e) = |e|`` if ``|e| <= c`` else ``(e^2 + c^2) / (2c)``, with
    ``c = threshold * max |e|`` over the valid pixels of the whole batch, and
    the mean over those pixels.

    Args:
        threshold (float): Fraction of the largest error that is c.
            Defaults to 0.2 (MultiMAE, Laina et al.).
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Key in the loss dict; must contain ``loss`` to be
            backpropagated. Defaults to ``'loss_berhu'``.

    Shapes:
        pred, target: (B, 1, H, W) metres (target 0 = invalid) -> scalar
    """

    def __init__(self,
                 threshold: float = 0.2,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_berhu'):
        super().__init__()
        self.threshold = threshold
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, pred: Tensor, target: Tensor,
                valid_mask: Optional[Tensor] = None, **kwargs) -> Tensor:
        valid = _valid_mask(pred, target, valid_mask, type(self).__name__)
        err = (pred - target).abs()[valid]
        if err.numel() == 0:
            # Keeps the graph (and DDP) intact when a batch has no valid pixel.
            return pred.sum() * 0.
        c = (self.threshold * err.max()).detach().clamp(min=1e-6)
        loss = torch.where(err <= c, err, (err.pow(2) + c.pow(2)) / (2 * c))
        return self.loss_weight * loss.mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name


@MODELS.register_module()
class MultiMAESiLogLoss(nn.Module):
    """Scale-invariant log loss, per image, averaged over the batch.

    Per image with valid pixels ``d = log(pred) - log(gt)``:
    ``sqrt(mean(d^2) - lambd * mean(d)^2)``. Images without valid pixels
    are left out of the average.

    Args:
        lambd (float): Weight of the scale-invariance term. Defaults to 0.5
            (as mmseg; BTS uses 0.85).
        eps (float): Floor of the prediction before the log and of the
            variance before the root. Defaults to 1e-6.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Defaults to ``'loss_silog'``.

    Shapes:
        pred, target: (B, 1, H, W) metres (target 0 = invalid) -> scalar
    """

    def __init__(self,
                 lambd: float = 0.5,
                 eps: float = 1e-6,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_silog'):
        super().__init__()
        self.lambd = lambd
        self.eps = eps
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, pred: Tensor, target: Tensor,
                valid_mask: Optional[Tensor] = None, **kwargs) -> Tensor:
        valid = _valid_mask(pred, target, valid_mask, type(self).__name__)
        valid = valid.flatten(1).float()  # B, HW
        # Invalid targets get 1 so that the log is finite; the mask zeroes them.
        safe_target = torch.where(target > 0, target, torch.ones_like(target))
        d = (torch.log(pred.clamp(min=self.eps)) -
             torch.log(safe_target)).flatten(1) * valid
        count = valid.sum(1)
        has_valid = count > 0
        if not has_valid.any():
            return pred.sum() * 0.
        count = count[has_valid]
        d = d[has_valid]
        mean_sq = d.pow(2).sum(1) / count
        mean = d.sum(1) / count
        var = (mean_sq - self.lambd * mean.pow(2)).clamp(min=self.eps)
        return self.loss_weight * var.sqrt().mean()

    @property
    def loss_name(self) -> str:
        return self._loss_name
