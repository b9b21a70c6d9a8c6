"""Class-balanced binary cross-entropy with an ignore value.

One loss serves the two binary dense tasks of the multi-task literature
(ATRC ``src/model/criterion.py``; InvPT and TaskPrompter
``losses/loss_functions.py``):

- **boundaries** (``BalancedBinaryCrossEntropyLoss(pos_weight=0.95)`` there):
  a fixed weight w = 0.95 on boundary pixels and 1 - w on the others. InvPT
  and TaskPrompter use 0.95 on NYUD and PASCAL; ATRC uses 0.8 on NYUD.
- **saliency** (``CrossEntropyLoss(balanced=True)`` on 2-channel logits
  there): w is recomputed on every batch as the share of negative pixels
  among the valid ones (HED-style), i.e. ``pos_weight=None`` here.

With labels y in {0, 1} and probability p of the positive class, both are

    L = sum_valid [ w * y * -log p + (1 - w) * (1 - y) * -log(1 - p) ]
        / (number of valid pixels)

which is what the reference computes (``BCE(pos_weight=w/(1-w)) * (1-w)``
for boundaries, a class-weighted CE summed and divided by the valid count
for saliency). A 2-channel prediction is read as softmax logits and a
1-channel one as a sigmoid logit; since softmax(z)[1] = sigmoid(z1 - z0) the
two parametrisations give the same loss.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmmae.registry import MODELS


@MODELS.register_module()
class BalancedBinaryCrossEntropyLoss(nn.Module):
    """Weighted BCE over the valid pixels of a binary map.

    Args:
        pos_weight (float, optional): Weight w of positive pixels (negatives
            get 1 - w). ``None`` recomputes w per batch as the share of
            negatives (saliency). Defaults to 0.95 (boundaries).
        ignore_index (int): Label of ignored pixels. Defaults to 255.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
        loss_name (str): Key in the loss dict. Defaults to
            ``'loss_balanced_bce'``.

    Shapes:
        pred: (B, 1, H, W) logits, or (B, 2, H, W) softmax logits;
        target: (B, 1, H, W) or (B, H, W) with values in [0, 1] or
        ``ignore_index`` -> scalar
    """

    def __init__(self,
                 pos_weight: Optional[float] = 0.95,
                 ignore_index: int = 255,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_balanced_bce'):
        super().__init__()
        if pos_weight is not None and not 0 <= pos_weight <= 1:
            raise ValueError(f'BalancedBinaryCrossEntropyLoss: pos_weight '
                             f'must be in [0, 1] or None, got {pos_weight}')
        self.pos_weight = pos_weight
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                ignore_index: Optional[int] = None,
                **kwargs) -> Tensor:
        name = type(self).__name__
        ignore_index = self.ignore_index if ignore_index is None \
            else ignore_index
        if pred.dim() != 4 or pred.shape[1] not in (1, 2):
            raise ValueError(f'{name}: prediction must be (B, 1, H, W) logits '
                             f'or (B, 2, H, W) softmax logits, got '
                             f'{tuple(pred.shape)}')
        if target.dim() == 3:
            target = target.unsqueeze(1)
        expected = (pred.shape[0], 1, *pred.shape[2:])
        if tuple(target.shape) != expected:
            raise ValueError(f'{name}: target {tuple(target.shape)} does not '
                             f'match prediction {tuple(pred.shape)}')
        # softmax(z)[1] = sigmoid(z1 - z0): one formula for both layouts.
        logit = pred if pred.shape[1] == 1 else pred[:, 1:] - pred[:, :1]
        valid = target != ignore_index
        label = torch.where(valid, target, torch.zeros_like(target)).to(
            logit.dtype)
        if ((label < 0) | (label > 1)).any():
            raise ValueError(f'{name}: target values must be in [0, 1] or '
                             f'{ignore_index} (ignored), got values in '
                             f'[{target.min().item()}, '
                             f'{target.max().item()}]')
        valid = valid.to(logit.dtype)
        n_valid = valid.sum()
        if self.pos_weight is None:
            # HED-style: the share of negatives among the valid pixels.
            w = ((1 - label) * valid).sum() / n_valid.clamp(min=1)
        else:
            w = logit.new_tensor(self.pos_weight)
        # -log p = softplus(-x), -log(1 - p) = softplus(x)
        loss = (w * label * F.softplus(-logit) +
                (1 - w) * (1 - label) * F.softplus(logit)) * valid
        return self.loss_weight * loss.sum() / n_valid.clamp(min=1)

    @property
    def loss_name(self) -> str:
        return self._loss_name
