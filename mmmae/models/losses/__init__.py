from .balanced_bce_loss import BalancedBinaryCrossEntropyLoss  # noqa: F401
from .depth_losses import BerHuLoss, MultiMAESiLogLoss  # noqa: F401
from .masked_losses import (MaskedCrossEntropyLoss, MaskedL1Loss, MaskedMSELoss, patch_normalize)  # noqa: F401
from .normals_loss import NormalsL1Loss, normals_valid_mask  # noqa: F401
