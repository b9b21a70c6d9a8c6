"""Optimizer of a frozen-backbone run: trainable parameters only.

What mmengine's ``DefaultOptimWrapperConstructor`` already does and lacks
(checked in onedl-mmengine 0.10.12):

- with an empty ``paramwise_cfg`` it hands ``model.parameters()`` to the
  optimizer, frozen ones included (no update, since they get no gradient,
  but they stay in the optimizer's groups and weight-decay bookkeeping);
- with any ``paramwise_cfg`` it skips ``requires_grad=False`` parameters,
  but logs one WARNING per skipped tensor (about 150 lines for ViT-B);
- ``custom_keys`` match substrings of parameter names; there is no way to
  say "the prompt plugin's parameters", whatever their names.

This subclass always takes the paramwise path, skips frozen sub-trees
silently and reports one summary line, raises if nothing is trainable, and
scales lr and weight decay of every ``BasePrompt`` parameter by
``prompt_lr_mult`` / ``prompt_decay_mult`` (on top of any other rule).
"""
import logging
from typing import List, Optional

import torch.nn as nn
from mmengine.logging import MMLogger, print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper

from mmmae.registry import OPTIM_WRAPPER_CONSTRUCTORS


class _DropSkipWarnings(logging.Filter):
    """Hide the parent's per-tensor "is skipped since its requires_grad"."""

    def filter(self, record: logging.LogRecord) -> bool:
        return 'is skipped since its requires_grad' not in record.getMessage()


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class PromptOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Optimizer over trainable parameters, with a separate prompt lr.

    Args:
        optim_wrapper_cfg (dict): As for ``DefaultOptimWrapperConstructor``.
        paramwise_cfg (dict, optional): Everything the parent accepts, plus
            ``prompt_lr_mult`` (float) and ``prompt_decay_mult`` (float)
            for the parameters of ``BasePrompt`` modules. Defaults to 1.

    Shapes:
        model parameters -> optimizer param groups, one per trainable tensor
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None):
        paramwise_cfg = dict(paramwise_cfg or {})
        self.prompt_lr_mult = paramwise_cfg.pop('prompt_lr_mult', 1.)
        self.prompt_decay_mult = paramwise_cfg.pop('prompt_decay_mult', 1.)
        # A non-empty paramwise_cfg sends the parent down add_params, the
        # only path that looks at requires_grad.
        paramwise_cfg.setdefault('custom_keys', {})
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        self._frozen = 0
        self._in_prompt = False

    def add_params(self, params: List[dict], module: nn.Module,
                   prefix: str = '', **kwargs) -> None:
        from mmmae.models.prompts import BasePrompt
        own = list(module.parameters())
        if not any(p.requires_grad for p in own):
            self._frozen += len(own)
            return
        self._frozen += sum(not p.requires_grad
                            for p in module.parameters(recurse=False))
        is_prompt = isinstance(module, BasePrompt) and not self._in_prompt
        start = len(params)
        self._in_prompt |= is_prompt
        try:
            super().add_params(params, module, prefix, **kwargs)
        finally:
            if is_prompt:
                self._in_prompt = False
        if is_prompt:
            for group in params[start:]:
                group['lr'] = group.get('lr', self.base_lr) * \
                    self.prompt_lr_mult
                if self.base_wd is not None:
                    group['weight_decay'] = group.get(
                        'weight_decay', self.base_wd) * self.prompt_decay_mult

    def __call__(self, model: nn.Module) -> OptimWrapper:
        inner = model.module if hasattr(model, 'module') else model
        if not any(p.requires_grad for p in inner.parameters()):
            raise ValueError(
                f'PromptOptimWrapperConstructor: {type(inner).__name__} has '
                'no trainable parameter; check frozen / trainable_patterns')
        self._frozen = 0
        logger = MMLogger.get_current_instance()
        quiet = _DropSkipWarnings()
        logger.addFilter(quiet)
        try:
            wrapper = super().__call__(model)
        finally:
            logger.removeFilter(quiet)
        groups = wrapper.optimizer.param_groups
        n = sum(p.numel() for g in groups for p in g['params'])
        print_log(
            f'PromptOptimWrapperConstructor: {len(groups)} trainable tensors '
            f'({n} values) in the optimizer, {self._frozen} frozen tensors '
            f'left out; prompt lr x{self.prompt_lr_mult}, weight decay '
            f'x{self.prompt_decay_mult}', logger='current')
        return wrapper
