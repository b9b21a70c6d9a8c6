"""CoOp: learned text context vectors (Zhou et al., IJCV 2022).

Faithful to CoOp's unified context (``trainers/coop.py`` of
KaiyangZhou/CoOp): M vectors replace the embeddings of M words before the
class name, ``[SOS][V]_1..[V]_M [CLASS].[EOS]``, and the text tower adds
the positional embedding after they are inserted, so they get positions
1..M like the words they replace. Initialisation as CoOp's:

- ``ctx_init=None`` (CoOp's default): N(0, 0.02^2) after ``X X ... X``
  placeholders, M = ``num_ctx`` (16 by default);
- ``ctx_init='a photo of a'``: the phrase's word embeddings, the text is
  ``'a photo of a {class}.'`` and M defaults to the phrase's word count
  (CoOp's rule), so before training the prompted text features equal
  frozen CLIP's for that text.

The image tower is untouched. Class-specific contexts (CSC) and the
"middle"/"front" class positions are not provided.
"""
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS
from .base_clip_prompt import BaseCLIPPrompt, PromptUnit


class CoOpUnit(PromptUnit):
    """M context vectors at the text input.

    Shapes:
        text(0): (M, D_text)
    """

    supports_ctx_init = True

    def __init__(self, num_ctx: int, text_dims: int):
        super().__init__()
        self.text_length = num_ctx
        self.text_depth = 1
        self.ctx = nn.Parameter(torch.empty(num_ctx, text_dims))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.ctx, std=0.02)

    def init_text(self, embeds: Tensor) -> None:
        with torch.no_grad():
            self.ctx.copy_(embeds)

    def text(self, layer: int) -> Tensor:
        return self.ctx


@MODELS.register_module()
class CoOpPrompt(BaseCLIPPrompt):
    """CoOp text context; CoOp-MT with shared/task units.

    Args:
        num_ctx (int, optional): Context vectors M per unit. Defaults to
            the word count of ``ctx_init`` when it is given (CoOp), else 16.
            An explicit value with ``ctx_init`` takes the phrase's first M
            tokens and keeps the rest as fixed words (MaPLe's rule).
        ctx_init (str, optional): Phrase the context starts from. Defaults
            to None (random, CoOp's default).
        **kwargs: see :class:`BaseCLIPPrompt` (tasks, groups,
            grouping_file, group_shared, task_specific, ...).

    Shapes:
        text input: (N_cls, L, D_text) word embeddings, positions 1..M
        (M_shared + M_task) replaced before positions are added; image
        tower unchanged.
    """

    def __init__(self, num_ctx: Optional[int] = None,
                 ctx_init: Optional[str] = None, **kwargs):
        if num_ctx is None:
            num_ctx = len(ctx_init.split()) if ctx_init else 16
        if num_ctx < 1:
            raise ValueError(f'CoOpPrompt: num_ctx={num_ctx} must be >= 1')
        self.num_ctx = num_ctx
        super().__init__(ctx_init=ctx_init, **kwargs)

    def build_unit(self) -> PromptUnit:
        return CoOpUnit(self.num_ctx, self.text_dims)
