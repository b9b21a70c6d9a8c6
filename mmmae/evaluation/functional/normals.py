"""Angular error of surface normals, as the dense multi-task literature.

ASTMT / MTI-Net ``evaluation/eval_normals.py`` (the protocol that reports
mean, median, RMSE and the 11.25 / 22.5 / 30 degree shares) and InvPT /
ATRC ``NormalsMeter`` / ``MeanErrorInAngle`` (mean only):

- valid pixels: ground truth with no channel at the ignore value (255) and a
  non-zero vector (``AddIgnoreRegions`` marks zero-norm pixels as ignored);
- prediction and ground truth are both L2-normalised (a zero prediction
  stays zero, i.e. 90 degrees from anything);
- angle = ``2 * atan2(|p - g|, |p + g|)`` in degrees (InvPT/ATRC), the
  numerically stable form of ASTMT's ``arccos(clip(p . g, -1, 1))``;
- every statistic is over all valid pixels of the dataset (pixel-weighted,
  not a mean of per-image means); "within t" counts angles ``< t``.
"""
import torch
from torch import Tensor

from mmmae.models.losses.normals_loss import normals_valid_mask

__all__ = ['normals_angular_error']


def normals_angular_error(pred: Tensor,
                          gt: Tensor,
                          ignore_index: float = 255) -> Tensor:
    """Angular error in degrees at the valid pixels of one image.

    Args:
        pred (Tensor): (3, H, W) predicted normals (any length).
        gt (Tensor): (3, H, W) ground-truth normals; ``ignore_index`` in a
            channel or a zero vector marks an invalid pixel.
        ignore_index (float): Defaults to 255.

    Returns:
        Tensor: (N_valid, ) float64 angles in [0, 180].
    """
    if pred.dim() != 3 or pred.shape[0] != 3 or pred.shape != gt.shape:
        raise ValueError(f'normals_angular_error: prediction '
                         f'{tuple(pred.shape)} and ground truth '
                         f'{tuple(gt.shape)} must both be (3, H, W)')
    pred, gt = pred.double(), gt.double()
    valid = normals_valid_mask(gt[None], ignore_index)[0, 0]  # H W
    p = pred[:, valid]  # 3 N
    g = gt[:, valid]
    # A zero vector stays zero (InvPT/ATRC normalize_tensor).
    p = p / p.norm(dim=0, keepdim=True).clamp(min=torch.finfo(p.dtype).tiny)
    g = g / g.norm(dim=0, keepdim=True)
    return torch.rad2deg(2 * torch.atan2((p - g).norm(dim=0),
                                         (p + g).norm(dim=0)))
