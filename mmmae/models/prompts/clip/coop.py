"""CoOp: learned text context vectors (Zhou et al., IJCV 2022).

Faithful to CoOp's unified context: M vectors (16 in the paper; 4 also
common) replace the embeddings of M placeholder words before the class
name, ``[SOS][V]_1..[V]_M [CLASS].[EOS]``, initialised from N(0, 0.02^2)
(CoOp's random "generic context"); the image tower is untouched. CoOp's
``ctx_init`` from a phrase and class-specific contexts are not provided.
"""
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

    def __init__(self, num_ctx: int, text_dims: int):
        super().__init__()
        self.text_length = num_ctx
        self.text_depth = 1
        self.ctx = nn.Parameter(torch.empty(num_ctx, text_dims))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.ctx, std=0.02)

    def text(self, layer: int) -> Tensor:
        return self.ctx


@MODELS.register_module()
class CoOpPrompt(BaseCLIPPrompt):
    """CoOp text context; CoOp-MT with shared/task units.

    Args:
        num_ctx (int): Context vectors M per unit. Defaults to 16.
        **kwargs: see :class:`BaseCLIPPrompt` (tasks, groups,
            grouping_file, group_shared, task_specific, ...).

    Shapes:
        text input: (N_cls, L, D_text), positions 1..M(_shared + _task)
        replaced; image tower unchanged.
    """

    def __init__(self, num_ctx: int = 16, **kwargs):
        if num_ctx < 1:
            raise ValueError(f'CoOpPrompt: num_ctx={num_ctx} must be >= 1')
        self.num_ctx = num_ctx
        super().__init__(**kwargs)

    def build_unit(self) -> PromptUnit:
        return CoOpUnit(self.num_ctx, self.text_dims)
