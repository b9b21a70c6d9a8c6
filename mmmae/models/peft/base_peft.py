"""The contract between the backbone and any weight-side PEFT method.

Prompts (``mmmae.models.prompts``) add tokens; a PEFT method changes what
the frozen layers compute. Both are plugins the backbone takes by config::

    backbone=dict(type='MultiViT', frozen=True,
                  peft=dict(type='LoRA', rank=8, alpha=16))

A method is one registered ``BasePEFT`` subclass. The backbone fills in
``embed_dims`` and ``num_layers``, builds it as its child ``peft`` after its
blocks exist, calls ``attach(backbone)`` once, and then freezes. Everything
under ``peft.`` stays trainable under ``frozen=True`` (the name marker, like
``prompt.``), and the method's ``trainable_patterns()`` (regexes over the
backbone's own parameter names) unfreeze chosen frozen parameters (BitFit,
LayerNorm tuning). The frozen parts stay in eval mode; ``peft`` keeps the
training mode, so its dropout fires.

The frozen layers are never replaced: a method augments them with forward
hooks (:meth:`BasePEFT.add_forward_hook`), so the backbone's parameter
names, its pre-trained checkpoints and the frozen-weight fingerprint of
delta checkpoints are the same with and without a method.
"""
import re
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from ..layers import TokenLayout
from ..prompts.base_prompt import PromptContext

#: Backbone children a method never targets: plugins, not frozen weights.
_PLUGIN_CHILDREN = ('peft', 'prompt')
_SHOWN = 6  # example names in an error


class MergeError(RuntimeError):
    """Merging a merged layer, or unmerging one that is not merged."""


class BasePEFT(BaseModule):
    """Base class of weight-side PEFT methods; the backbone calls these only.

    A subclass creates its parameters in ``attach(backbone)`` (the targets
    are known only then) or ``__init__``, sets them in
    ``reset_parameters()``, and overrides what it needs:

    - ``attach(backbone)``: find the layers (:meth:`select_modules`), create
      the new parameters as children of ``self``, register forward hooks
      (:meth:`add_forward_hook`). Called once, before the backbone freezes.
    - ``trainable_patterns()``: regexes of backbone parameter names that
      stay trainable under ``frozen`` (bias / norm tuning).
    - ``forward_block(index, block, x, layout, ctx)``: run block ``index``;
      by default ``block(x)``. Task-conditioned methods (MTLoRA) compute
      extra per-task outputs here and keep them in ``ctx.cache``.
    - ``tap(index, x, layout, ctx)``: what the backbone returns for a tapped
      block; by default ``(x, layout)``. A method with per-task features
      puts them before the sequence as groups of ``layout.prompts``.
    - ``readout(task, patch_tokens, tokens, layout)``: what task ``task``'s
      head reads; by default the shared patch tokens.
    - ``merge()`` / ``unmerge()``: fold the method into the frozen weights
      for inference and back (LoRA); others raise :class:`MergeError`.

    ``ctx.tasks`` is the same one-pass task list the multi-task prompts
    read (the segmentor passes every task to ``forward_features``).

    Args:
        embed_dims (int): Token width D (filled in by the backbone).
        num_layers (int): Number of backbone blocks (filled in).
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        forward_block: x (B, N, D) -> (B, N, D)
        tap: x (B, N, D) -> (B, N_extra + N, D) and the layout of that
    """

    def __init__(self, embed_dims: int, num_layers: int, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dims = embed_dims
        self.num_layers = num_layers
        # (module, hook id): a plain list, so the frozen layers are not
        # registered as children of the method; deepcopy maps the modules.
        self._hooked: List[Tuple[nn.Module, int]] = []
        self.attached = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if 'apply' in cls.__dict__:
            # nn.Module.apply(fn) recurses into every child (mmengine's
            # BaseModel.to uses it): overriding it breaks device moves.
            raise TypeError(
                f'{cls.__name__} overrides nn.Module.apply; a PEFT method '
                'attaches itself in attach(backbone)')

    # ------------------------------------------------------------ contract
    def attach(self, backbone: nn.Module) -> None:
        """Attach the method to ``backbone``; call once.

        (Not ``apply``: that is ``nn.Module.apply(fn)``, which torch and
        mmengine call on every child, e.g. in ``BaseModel.to``.)
        """
        if self.attached:
            raise RuntimeError(f'{type(self).__name__} is already attached '
                               'to a backbone; build a new one')
        self.attached = True

    def trainable_patterns(self) -> Tuple[str, ...]:
        """Regexes of backbone parameter names trainable under ``frozen``."""
        return ()

    def reset_parameters(self) -> None:
        """Set every parameter of the method to its paper initialisation."""

    def init_weights(self) -> None:
        super().init_weights()
        self.reset_parameters()

    def forward_block(self, index: int, block: nn.Module, x: Tensor,
                      layout: TokenLayout,
                      ctx: Optional[PromptContext]) -> Tensor:
        return block(x)

    def tap(self, index: int, x: Tensor, layout: TokenLayout,
            ctx: Optional[PromptContext]) -> Tuple[Tensor, TokenLayout]:
        return x, layout

    def readout(self, task: Optional[str], patch_tokens: Tensor,
                tokens: Tensor, layout: TokenLayout) -> Tensor:
        return patch_tokens

    def merge(self) -> None:
        raise MergeError(f'{type(self).__name__} cannot be merged into the '
                         'frozen weights')

    def unmerge(self) -> None:
        raise MergeError(f'{type(self).__name__} cannot be merged into the '
                         'frozen weights')

    # ------------------------------------------------------------- helpers
    def select_modules(self,
                       root: nn.Module,
                       patterns: Union[str, Sequence[str]],
                       kinds: Tuple[type, ...] = (nn.Linear, ),
                       key: str = 'targets'
                       ) -> List[Tuple[str, nn.Module]]:
        """Modules of ``root`` whose names fully match one of ``patterns``.

        Names are relative to ``root`` (``blocks.0.attn.qkv``); the plugin
        children ``peft`` and ``prompt`` are never candidates.

        Args:
            patterns (str | Sequence[str]): Regexes (``re.fullmatch``).
            kinds (tuple[type]): Accepted module types; empty accepts any.
            key (str): Config key the patterns came from, for errors.

        Returns:
            list: ``(name, module)`` in ``root.named_modules()`` order,
            without duplicates.

        Raises:
            ValueError: a pattern matches no module (names the pattern).
            TypeError: a match has no weight or is not of ``kinds``
                (names the layer and the pattern).
        """
        patterns = (patterns, ) if isinstance(patterns, str) else tuple(
            patterns)
        if not patterns:
            raise ValueError(f'{type(self).__name__}: {key} is empty')
        owner = type(self).__name__
        modules = [(n, m) for n, m in root.named_modules()
                   if n and n.split('.', 1)[0] not in _PLUGIN_CHILDREN]
        chosen, seen = [], set()
        for pattern in patterns:
            try:
                regex = re.compile(pattern)
            except re.error as e:
                raise ValueError(f'{owner}: {key} pattern {pattern!r} is not '
                                 f'a regular expression: {e}') from None
            hits = [(n, m) for n, m in modules if regex.fullmatch(n)]
            if not hits:
                wanted = [n for n, m in modules
                          if not kinds or isinstance(m, kinds)]
                raise ValueError(
                    f'{owner}: {key} pattern {pattern!r} matches no layer of '
                    f'{type(root).__name__} (full match over module names); '
                    f'e.g. {wanted[:_SHOWN]}')
            for name, module in hits:
                if kinds and not isinstance(module, kinds):
                    kind_names = '/'.join(k.__name__ for k in kinds)
                    why = ('has no weight' if getattr(module, 'weight', None)
                           is None else 'is not a ' + kind_names)
                    inside = [f'{name}.{n}' for n, m in
                              module.named_modules()
                              if n and isinstance(m, kinds)]
                    hint = f', e.g. {inside[:_SHOWN]} inside it' \
                        if inside else ''
                    raise TypeError(
                        f'{owner}: {key} pattern {pattern!r} matches layer '
                        f'"{name}" ({type(module).__name__}), which {why}; '
                        f'{owner} acts on {kind_names} layers{hint}')
                if name not in seen:
                    seen.add(name)
                    chosen.append((name, module))
        order = {n: i for i, (n, _) in enumerate(modules)}
        return sorted(chosen, key=lambda nm: order[nm[0]])

    @staticmethod
    def module_key(name: str) -> str:
        """A ``ModuleDict`` key for a dotted layer name."""
        return name.replace('.', '_')

    def add_forward_hook(self, module: nn.Module,
                         hook: Callable[[nn.Module, tuple, Tensor],
                                        Optional[Tensor]]) -> None:
        """Register ``hook(module, args, output) -> new output or None``.

        Make ``hook`` a bound method of the method, or a ``functools.partial``
        of one: ``copy.deepcopy`` of the model (EMA, TTA) then binds the
        copy's hooks to the copy's parameters (a closure would keep using
        the original's).
        """
        handle = module.register_forward_hook(hook)
        self._hooked.append((module, handle.id))

    def remove(self) -> None:
        """Detach every hook: the backbone computes as without a method."""
        for module, hook_id in self._hooked:
            module._forward_hooks.pop(hook_id, None)
        self._hooked.clear()
