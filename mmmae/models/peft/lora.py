"""LoRA: low-rank updates of frozen linear layers (Hu et al., ICLR 2022).

Reference: the paper and microsoft/LoRA (``loralib/layers.py``: ``Linear``
and ``MergedLinear``). Faithful to them:

- ``h = W x + (alpha / r) * B A dropout(x)``, dropout on the LoRA input only;
- A (r x in) Kaiming-uniform with ``a=sqrt(5)`` (``nn.Linear``'s default),
  B (out x r) zero, so step 0 computes exactly the frozen model;
- a fused projection (mmmae's ``attn.qkv``) gets one (A_g, B_g) pair per
  slice, as ``MergedLinear(enable_lora=[True, True, True])``: the update is
  ``[B_q A_q; B_k A_k; B_v A_v]``, so q, k and v adapt independently, with
  A stored as (3r x in) and B as (3D x r) like loralib's;
- ``merge()`` adds ``(alpha / r) * B A`` to W for inference; ``unmerge()``
  restores W.

Differences (docs/fidelity.md): loralib merges on ``eval()`` and unmerges on
``train()`` when ``merge_weights``; here merging is explicit, since the
frozen weights are also what delta checkpoints fingerprint. Defaults target
q, k, v, the attention output and both MLP layers of every block (the
paper adapts W_q and W_v in most experiments; the targets are a config
key).
"""
import functools
import math
import re
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS
from .base_peft import BasePEFT, MergeError

DEFAULT_TARGETS = (r'blocks\.\d+\.attn\.qkv', r'blocks\.\d+\.attn\.proj',
                   r'blocks\.\d+\.mlp\.fc1', r'blocks\.\d+\.mlp\.fc2')


class LoRABranch(nn.Module):
    """The low-rank branch of one linear layer, in ``groups`` output slices.

    Args:
        in_features (int): Input width of the wrapped layer.
        out_features (int): Its output width; divisible by ``groups``.
        rank (int): r, per group.
        scaling (float): alpha / r.
        dropout (float): Dropout on the branch input.
        groups (int): Output slices with their own (A_g, B_g); 3 for a
            fused qkv. Defaults to 1.

    Shapes:
        x: (..., in_features) -> (..., out_features)
        lora_A: (groups * r, in_features), lora_B: (out_features, r)
    """

    def __init__(self, in_features: int, out_features: int, rank: int,
                 scaling: float, dropout: float = 0., groups: int = 1):
        super().__init__()
        if out_features % groups:
            raise ValueError(f'out_features={out_features} is not divisible '
                             f'into groups={groups} slices')
        self.rank = rank
        self.groups = groups
        self.scaling = scaling
        self.lora_A = nn.Parameter(torch.empty(groups * rank, in_features))
        self.lora_B = nn.Parameter(torch.empty(out_features, rank))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # loralib: A as nn.Linear's default init, B zero (step 0 = base).
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B)

    def _blocks(self):
        out_g = self.lora_B.shape[0] // self.groups
        A = self.lora_A.view(self.groups, self.rank, -1)  # G r in
        B = self.lora_B.view(self.groups, out_g, self.rank)  # G out_g r
        return A, B

    def delta_weight(self) -> Tensor:
        """``scaling * [B_g A_g]_g`` stacked over the groups: (out, in)."""
        A, B = self._blocks()
        return (B @ A).flatten(0, 1) * self.scaling  # (G out_g) in

    def forward(self, x: Tensor) -> Tensor:
        return self.lowrank(self.dropout(x))

    def lowrank(self, x: Tensor) -> Tensor:
        """``scaling * B A x`` per group, without the dropout."""
        h = x @ self.lora_A.t()  # ... (G r)
        if self.groups == 1:
            return (h @ self.lora_B.t()) * self.scaling
        _, B = self._blocks()
        h = h.unflatten(-1, (self.groups, self.rank))  # ... G r
        out = torch.einsum('...gr,gor->...go', h, B)  # ... G out_g
        return out.flatten(-2) * self.scaling


@MODELS.register_module()
class LoRA(BasePEFT):
    """LoRA on the backbone's linear layers chosen by regex.

    Args:
        targets (Sequence[str]): Regexes fully matching module names of the
            backbone, e.g. ``r'blocks\\.\\d+\\.attn\\.qkv'``. Defaults to q,
            k, v, the attention output and the MLP of every block.
        rank (int): r. Defaults to 8.
        alpha (float): Scaling numerator; the update is scaled by alpha / r.
            Defaults to 16.
        dropout (float): Dropout on the LoRA input. Defaults to 0.
        fused (dict): regex of module names -> number of equal output
            slices with their own low-rank pair. Defaults to
            ``{r'(.*\\.)?qkv': 3}`` (mmmae's fused q, k, v projection).
        **kwargs: see :class:`BasePEFT`.

    Shapes:
        a target: x (..., in) -> W x + b + (alpha / r) B A dropout(x),
        (..., out)
    """

    def __init__(self,
                 targets: Sequence[str] = DEFAULT_TARGETS,
                 rank: int = 8,
                 alpha: float = 16.,
                 dropout: float = 0.,
                 fused: Optional[Dict[str, int]] = None,
                 **kwargs):
        super().__init__(**kwargs)
        if rank < 1:
            raise ValueError(f'LoRA: rank={rank} must be >= 1')
        if not 0 <= dropout < 1:
            raise ValueError(f'LoRA: dropout={dropout} must be in [0, 1)')
        self.targets = (targets, ) if isinstance(targets, str) else tuple(
            targets)
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.fused = {r'(.*\.)?qkv': 3} if fused is None else dict(fused)
        self.branches = nn.ModuleDict()
        # key -> (layer name, layer): plain dicts, not submodules.
        self._layers: Dict[str, nn.Linear] = {}
        self._names: Dict[str, str] = {}
        self._originals: Dict[str, Tensor] = {}

    def _groups(self, name: str) -> int:
        for pattern, groups in self.fused.items():
            if re.fullmatch(pattern, name):
                return groups
        return 1

    def attach(self, backbone: nn.Module) -> None:
        super().attach(backbone)
        for name, layer in self.select_modules(backbone, self.targets):
            key = self.module_key(name)
            if key in self.branches:
                raise ValueError(f'LoRA: layer names "{self._names[key]}" '
                                 f'and "{name}" give the same key {key}')
            self.branches[key] = LoRABranch(
                layer.in_features, layer.out_features, self.rank,
                self.alpha / self.rank, self.dropout, self._groups(name))
            self._layers[key] = layer
            self._names[key] = name
            self.add_forward_hook(layer, functools.partial(self._hook, key))

    def _hook(self, key: str, module: nn.Module, args: tuple,
              output: Tensor) -> Optional[Tensor]:
        if key in self._originals:  # merged: W already holds the update
            return None
        return output + self.branches[key](args[0]).to(output.dtype)

    def reset_parameters(self) -> None:
        for branch in self.branches.values():
            branch.reset_parameters()

    @property
    def layer_names(self) -> Sequence[str]:
        """Dotted names of the adapted layers, in backbone order."""
        return list(self._names.values())

    def is_merged(self, name: Optional[str] = None) -> bool:
        """Whether layer ``name`` (or every layer) is merged."""
        keys = self._names if name is None else [self.module_key(name)]
        return all(k in self._originals for k in keys)

    @torch.no_grad()
    def merge(self) -> None:
        """Fold every ``(alpha / r) B A`` into its frozen weight.

        The weights before merging are kept, so ``unmerge()`` restores them
        bit for bit (and delta checkpoints' fingerprints still match).

        Raises:
            MergeError: a layer is already merged (names it).
        """
        merged = [self._names[k] for k in self._names if k in self._originals]
        if merged:
            raise MergeError(f'LoRA: layer "{merged[0]}" is already merged '
                             f'({len(merged)} merged layers); call unmerge() '
                             'first')
        for key, layer in self._layers.items():
            self._originals[key] = layer.weight.detach().clone()
            delta = self.branches[key].delta_weight()
            layer.weight.add_(delta.to(layer.weight.dtype))

    @torch.no_grad()
    def unmerge(self) -> None:
        """Put back the frozen weights saved by ``merge()``.

        Raises:
            MergeError: a layer is not merged (names it).
        """
        missing = [self._names[k] for k in self._names
                   if k not in self._originals]
        if missing:
            raise MergeError(f'LoRA: layer "{missing[0]}" is not merged '
                             f'({len(missing)} unmerged layers); call '
                             'merge() first')
        for key, layer in self._layers.items():
            layer.weight.copy_(self._originals.pop(key))
