"""The maskings of the MultiMAE demo that pre-training does not draw:
fixed per-modality visible counts, and masks given outright.

Both stand in for the model's ``DirichletMasking`` during one
reconstruction (``MultiMAEReconstructionInferencer``) and return the same
:class:`~mmmae.models.pretrainers.masking.MaskingResult`.
"""
from typing import Dict

import numpy as np
import torch
import torch.nn as nn

from mmmae.models.pretrainers.masking import DirichletMasking, MaskingResult


class GivenCountMasking(DirichletMasking):
    """``DirichletMasking`` with fixed per-modality visible counts instead
    of a Dirichlet draw; the positions within a modality stay random.

    Args:
        counts (dict): modality -> visible tokens; absent modalities keep 0.
    """

    def __init__(self, counts: Dict[str, int]):
        super().__init__(num_encoded_tokens=max(sum(counts.values()), 1))
        self.counts = dict(counts)

    def sample_shares(self, names, batch_size: int, device=None):
        K = float(self.num_encoded_tokens)
        shares = torch.tensor([self.counts.get(n, 0) / K for n in names],
                              device=device)
        return shares.expand(batch_size, -1)


class GivenMasks(nn.Module):
    """The masks the user drew, the same for every image of the batch (the
    demo's ``task_masks``).

    Args:
        masks (dict): modality -> (h, w) array on its token grid, 1 = hidden,
            0 = visible; a modality without a mask is hidden entirely.

    Shapes:
        num_tokens: {modality: N_m} -> masks {modality: (B, N_m)},
        ids_keep (B, K), ids_restore (B, N) with K the visible tokens.
    """

    def __init__(self, masks: Dict[str, np.ndarray]):
        super().__init__()
        self.given = {m: torch.as_tensor(np.asarray(v)).long()
                      for m, v in masks.items()}

    def forward(self, num_tokens: Dict[str, int], batch_size: int,
                device=None) -> MaskingResult:
        unknown = [m for m in self.given if m not in num_tokens]
        if unknown:
            raise KeyError(f'masks given for {unknown}, which are not among '
                           f'the inputs given {list(num_tokens)}')
        flat = []
        for m, n in num_tokens.items():
            mask = self.given.get(m)
            if mask is None:
                mask = torch.ones(n, dtype=torch.long)
            elif mask.numel() != n or not ((mask == 0) | (mask == 1)).all():
                raise ValueError(
                    f'the {m} mask must hold {n} zeros / ones (its token '
                    f'grid), got shape {tuple(mask.shape)}')
            flat.append(mask.flatten())
        mask = torch.cat(flat).to(device)  # N
        visible = (mask == 0).nonzero()[:, 0]
        if visible.numel() == 0:
            raise ValueError('the masks given hide every token; leave at '
                             'least one 0')
        ids_shuffle = torch.cat([visible, (mask == 1).nonzero()[:, 0]])
        ids_restore = ids_shuffle.argsort()
        masks = dict(zip(num_tokens, mask.split(list(num_tokens.values()))))
        counts = torch.stack([(v == 0).sum() for v in masks.values()])
        K = visible.numel()
        return MaskingResult(
            masks={m: v.expand(batch_size, -1) for m, v in masks.items()},
            ids_keep=visible.expand(batch_size, -1),
            ids_restore=ids_restore.expand(batch_size, -1),
            shares=(counts.float() / K).expand(batch_size, -1),
            budget=counts.expand(batch_size, -1))
