"""Bottleneck adapters on the frozen MultiViT: AdaptFormer and Houlsby.

**AdaptFormer** (Chen et al., NeurIPS 2022), as ShoufaChen/AdaptFormer
(commit 6967d67: ``models/adapter.py``, ``models/custom_modules.py``
``Block.forward``, the ``tuning_config`` of ``main_image.py``):

- one bottleneck per block, *parallel* to the MLP branch: its input is the
  block's token after the attention residual (before ``norm2``), its output
  ``s * up(dropout(relu(down(x))))`` is added to the MLP branch output, so
  ``x + mlp(norm2(x)) + s * adapter(x)``;
- ``s = 0.1`` (``ffn_adapter_scalar``), bottleneck 64 (``ffn_num``),
  dropout 0.1 on the bottleneck activations (the Block builds the adapter
  with ``dropout=0.1``), no LayerNorm in the adapter
  (``ffn_adapter_layernorm_option='none'``);
- init ``'lora'``: down weight ``kaiming_uniform_(a=sqrt(5))``, down bias,
  up weight and up bias zero, so step 0 equals the frozen model exactly.

**Houlsby adapters** (Houlsby et al., ICML 2019), as google-research/
adapter-bert (commit 1a31fc6: ``modeling.py`` ``feedforward_adapter`` and
``transformer_model``; ``optimization.py``):

- a *sequential* bottleneck with an identity skip, ``h + up(gelu(down(h)))``,
  on the output of the attention projection and on the output of the MLP
  (after their dropout, before the block's residual add);
- bottleneck 64, BERT's tanh-approximated GELU, weights drawn from a normal
  truncated at two standard deviations with std ``init_scale=1e-3``
  (``tf.truncated_normal_initializer``), biases zero: a near-identity start;
- the layer norms train as well (adapter-bert trains the ``adapters``,
  ``layer_norm`` and ``head`` collections): ``train_norms=True``.

Where the BERT adapter sits before a post-norm, here it sits before the
pre-norm ViT's residual add: the same place relative to the sub-layer
output and the skip. Neither method can be folded into the frozen weights
(the bottleneck is non-linear), so ``merge()`` raises ``MergeError``.
"""
import functools
import math
from typing import Dict, Sequence, Tuple, Union

import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import Block
from .base_peft import BasePEFT


class Bottleneck(nn.Module):
    """``up(dropout(act(down(x))))``, without a skip.

    Shapes:
        x: (..., D) -> (..., D)
    """

    def __init__(self, embed_dims: int, hidden_dims: int, act: nn.Module,
                 dropout: float = 0.):
        super().__init__()
        self.down = nn.Linear(embed_dims, hidden_dims)
        self.act = act
        self.dropout = nn.Dropout(dropout)
        self.up = nn.Linear(hidden_dims, embed_dims)

    def forward(self, x: Tensor) -> Tensor:
        return self.up(self.dropout(self.act(self.down(x))))


class _BottleneckAdapters(BasePEFT):
    """One :class:`Bottleneck` per target layer; subclasses wire them.

    Args:
        targets (str | Sequence[str]): Regexes fully matching module names
            of the backbone (e.g. ``blocks\\.\\d+``).
        bottleneck (int): Hidden width of each adapter.
        **kwargs: see :class:`BasePEFT`.
    """

    target_kinds: Tuple[type, ...] = ()

    def __init__(self, targets: Union[str, Sequence[str]], bottleneck: int,
                 **kwargs):
        super().__init__(**kwargs)
        if bottleneck < 1:
            raise ValueError(f'{type(self).__name__}: bottleneck='
                             f'{bottleneck} must be >= 1')
        self.targets = (targets, ) if isinstance(targets, str) \
            else tuple(targets)
        self.bottleneck = bottleneck
        self.adapters = nn.ModuleDict()

    def _new_adapter(self) -> Bottleneck:
        raise NotImplementedError

    def _attach(self, name: str, module: nn.Module) -> None:
        """Create the adapter of target ``name`` and hook it in."""
        raise NotImplementedError

    def attach(self, backbone: nn.Module) -> None:
        super().attach(backbone)
        for name, module in self.select_modules(backbone, self.targets,
                                                self.target_kinds):
            self.adapters[self.module_key(name)] = self._new_adapter()
            self._attach(name, module)
        self.reset_parameters()


@MODELS.register_module()
class AdaptFormer(_BottleneckAdapters):
    """AdaptFormer: a scaled bottleneck parallel to each block's MLP.

    Args:
        bottleneck (int): Hidden width. Defaults to 64 (``ffn_num``).
        scale (float): Output scale s. Defaults to 0.1.
        dropout (float): Dropout on the bottleneck. Defaults to 0.1.
        targets (str | Sequence[str]): Regexes of the ``Block`` names to
            adapt. Defaults to every block.
        **kwargs: see :class:`BasePEFT`.

    Shapes:
        block: x (B, N, D) -> x + mlp(norm2(x)) + s * adapter(x), with x
        the token after the attention residual
    """

    target_kinds = (Block, )

    def __init__(self,
                 bottleneck: int = 64,
                 scale: float = 0.1,
                 dropout: float = 0.1,
                 targets: Union[str, Sequence[str]] = r'blocks\.\d+',
                 **kwargs):
        super().__init__(targets, bottleneck, **kwargs)
        self.scale = scale
        self.dropout = dropout
        # Branch outputs computed at ``norm2`` (which sees the block's
        # post-attention token) and added at the MLP output.
        self._branch: Dict[str, Tensor] = {}

    def _new_adapter(self) -> Bottleneck:
        return Bottleneck(self.embed_dims, self.bottleneck, nn.ReLU(),
                          self.dropout)

    def _attach(self, name: str, block: nn.Module) -> None:
        key = self.module_key(name)
        self.add_forward_hook(block.norm2,
                              functools.partial(self._run_branch, key))
        self.add_forward_hook(block.mlp, functools.partial(self._add_branch,
                                                           key))

    def reset_parameters(self) -> None:
        for adapter in self.adapters.values():
            # The reference's init_option='lora'.
            nn.init.kaiming_uniform_(adapter.down.weight, a=math.sqrt(5))
            nn.init.zeros_(adapter.down.bias)
            nn.init.zeros_(adapter.up.weight)
            nn.init.zeros_(adapter.up.bias)

    def _run_branch(self, key: str, module: nn.Module, args: tuple,
                    output: Tensor) -> None:
        self._branch[key] = self.scale * self.adapters[key](args[0])

    def _add_branch(self, key: str, module: nn.Module, args: tuple,
                    output: Tensor) -> Tensor:
        if key not in self._branch:
            raise RuntimeError(f'AdaptFormer: the MLP of "{key}" ran without '
                               'its norm2 first; the block must compute '
                               'mlp(norm2(x))')
        return output + self._branch.pop(key)


@MODELS.register_module()
class HoulsbyAdapter(_BottleneckAdapters):
    """Houlsby adapters: ``h + up(gelu(down(h)))`` after sub-layer outputs.

    Args:
        bottleneck (int): Hidden width. Defaults to 64.
        init_scale (float): Std of the truncated-normal weight init.
            Defaults to 1e-3.
        train_norms (bool): The blocks' LayerNorms train too, as in
            adapter-bert. Defaults to True.
        targets (str | Sequence[str]): Regexes of the modules whose output
            (width D) gets an adapter. Defaults to every attention and MLP.
        **kwargs: see :class:`BasePEFT`.

    Shapes:
        target output h: (B, N, D) -> (B, N, D)
    """

    def __init__(self,
                 bottleneck: int = 64,
                 init_scale: float = 1e-3,
                 train_norms: bool = True,
                 targets: Union[str, Sequence[str]] = (r'blocks\.\d+\.attn',
                                                       r'blocks\.\d+\.mlp'),
                 **kwargs):
        super().__init__(targets, bottleneck, **kwargs)
        self.init_scale = init_scale
        self.train_norms = train_norms

    def _new_adapter(self) -> Bottleneck:
        # BERT's gelu is the tanh approximation.
        return Bottleneck(self.embed_dims, self.bottleneck,
                          nn.GELU(approximate='tanh'))

    def _attach(self, name: str, module: nn.Module) -> None:
        width = getattr(module, 'out_features', self.embed_dims)
        if width != self.embed_dims:
            raise ValueError(f'HoulsbyAdapter: target "{name}" outputs '
                             f'{width} channels; an adapter needs the token'
                             f' width {self.embed_dims}')
        self.add_forward_hook(
            module, functools.partial(self._adapt, self.module_key(name)))

    def trainable_patterns(self) -> Tuple[str, ...]:
        return (r'^blocks\.\d+\.norm[12]\.', ) if self.train_norms else ()

    def reset_parameters(self) -> None:
        std = self.init_scale
        for adapter in self.adapters.values():
            for linear in (adapter.down, adapter.up):
                # tf.truncated_normal_initializer: redrawn beyond 2 std.
                nn.init.trunc_normal_(linear.weight, std=std, a=-2 * std,
                                      b=2 * std)
                nn.init.zeros_(linear.bias)

    def _adapt(self, key: str, module: nn.Module, args: tuple,
               output: Tensor) -> Tensor:
        if output.shape[-1] != self.embed_dims:
            raise ValueError(f'HoulsbyAdapter: target "{key}" gave output '
                             f'{tuple(output.shape)}; expected (..., '
                             f'{self.embed_dims})')
        return output + self.adapters[key](output)
