"""MTLoRA: task-agnostic and task-specific low-rank adaptation for
multi-task dense prediction (Agiza et al., CVPR 2024).

Reference: the paper and scale-lab/MTLoRA at 333a375 (``models/lora.py``
``MTLoRALinear`` in its default ``shared_mode='matrix'``,
``models/swin_transformer_mtlora.py``, ``config.py`` and
``configs/mtlora/tiny_448/mtlora_tiny_448_r16_scale4_pertask.yaml``).
Faithful to it, with mmmae's ViT blocks in place of Swin blocks and the
tapped blocks (``out_indices``) in place of the last block of each stage,
where the reference branches features to the task decoders:

- TA-LoRA (task-agnostic) on q-k-v (one low-rank pair on the fused
  projection, as the reference's ``SPLIT_QKV=False``), the attention output
  and both MLP layers of every block: ``W x + s_shared * B A dropout(x)``;
- in a tapped block, TS-LoRA (task-specific) on the attention output and
  both MLP layers (not on q-k-v, as the reference). Attention is shared;
  task t's path is, with ``Wx`` the frozen layer's output on the shared
  input (the reference's ``pretrained``)::

      proj_t = W_o a + s_t B_t A_t dropout(a)        (the TA dropout sample)
      x1_t   = x + proj_t
      fc1_t  = W_1 norm2(x1) + s_t B_t A_t norm2(x1_t)
      fc2_t  = W_2 act(fc1) + s_t B_t A_t act(fc1_t)
      out_t  = x1_t + fc2_t

  (TA updates are not in the task path of that block; dropout as the
  reference: only on the shared input);
- the shared path continues to the next block, so one backbone pass serves
  every task in ``ctx.tasks``; each head reads its task's features;
- scales are plain multipliers (not alpha / r): rank 16 shared, 4 per task,
  scale 4 and dropout 0.05 as the reference's per-task config; A
  Kaiming-uniform(a=sqrt(5)), B zero;
- the reference's defaults also train every norm and the patch embedding
  (``FREEZE_LAYER_NORM``/``FREEZE_PATCH_EMBED`` False): ``train_norm`` and
  ``train_patch_embed``.

How heads get their features: ``tap`` puts each task's patch tokens before
the sequence as prompt-layout groups ``mtlora.<task>``, and ``readout``
hands task t's head its group (the path multi-task prompts use). Not
mergeable (the reference's ``merge`` raises too): the task paths need the
unmerged frozen outputs.
"""
import functools
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import TokenLayout
from ..prompts.base_prompt import PromptContext
from .base_peft import BasePEFT
from .lora import LoRABranch

TA_TARGETS = (r'blocks\.\d+\.attn\.qkv', r'blocks\.\d+\.attn\.proj',
              r'blocks\.\d+\.mlp\.fc1', r'blocks\.\d+\.mlp\.fc2')
_TS_LAYERS = ('attn.proj', 'mlp.fc1', 'mlp.fc2')
_NORM = r'(^|\.)norm\d*\.(weight|bias)$'
_PATCH_EMBED = r'^input_adapters\.[^.]+\.proj\.(weight|bias)$'


@MODELS.register_module()
class MTLoRA(BasePEFT):
    """Task-agnostic LoRA everywhere, task-specific LoRA at the taps.

    Args:
        tasks (Sequence[str]): Task names, e.g. ``('semseg', 'depth')``.
        rank (int): Rank of every TA-LoRA. Defaults to 16.
        task_rank (int | dict): Rank of TS-LoRA, one for all or per task.
            Defaults to 4.
        shared_scale (float): Multiplier of TA updates. Defaults to 4.
        task_scale (float | dict): Multiplier of TS updates. Defaults to 4.
        dropout (float): Dropout on TA inputs. Defaults to 0.05.
        targets (Sequence[str]): TA-LoRA layers (regexes over module
            names); must include the TS layers of the task blocks.
        task_blocks (Sequence[int], optional): Blocks with TS-LoRA whose
            task features the backbone returns; defaults to the
            backbone's ``out_indices``.
        train_norm (bool): Keep the backbone's norms trainable. Defaults to
            True (the reference).
        train_patch_embed (bool): Keep the input adapters' patch
            projections trainable. Defaults to True (the reference).
        **kwargs: see :class:`BasePEFT`.

    Shapes:
        tap at a task block: x (B, N, D) -> (B, T * N_patch + N, D) with
        groups ``mtlora.<task>`` in the layout
        readout: -> (B, N_patch, D), task t's tokens
    """

    def __init__(self,
                 tasks: Sequence[str],
                 rank: int = 16,
                 task_rank: Union[int, Mapping[str, int]] = 4,
                 shared_scale: float = 4.,
                 task_scale: Union[float, Mapping[str, float]] = 4.,
                 dropout: float = 0.05,
                 targets: Sequence[str] = TA_TARGETS,
                 task_blocks: Optional[Sequence[int]] = None,
                 train_norm: bool = True,
                 train_patch_embed: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        tasks = (tasks, ) if isinstance(tasks, str) else tuple(tasks)
        if not tasks or len(set(tasks)) != len(tasks):
            raise ValueError(f'MTLoRA: tasks {tasks} must be a non-empty '
                             'list of distinct names')
        bad = [t for t in tasks if '.' in t or not t]
        if bad:
            raise ValueError(f'MTLoRA: task names {bad} may not contain "."')
        self.tasks = tasks
        self.rank = rank
        self.task_rank = self._per_task(task_rank, 'task_rank')
        self.shared_scale = shared_scale
        self.task_scale = self._per_task(task_scale, 'task_scale')
        if rank < 1 or min(self.task_rank.values()) < 1:
            raise ValueError(f'MTLoRA: rank={rank} and task_rank='
                             f'{self.task_rank} must be >= 1')
        self.dropout = dropout
        self.targets = (targets, ) if isinstance(targets, str) else tuple(
            targets)
        self._task_blocks = task_blocks
        self.train_norm = train_norm
        self.train_patch_embed = train_patch_embed
        self.shared = nn.ModuleDict()
        self.task_lora = nn.ModuleDict(
            {t: nn.ModuleDict() for t in tasks})
        self.task_blocks: Tuple[int, ...] = ()
        self._capture: Optional[Dict[str, tuple]] = None

    def _check_tasks(self, tasks: Sequence[str], what: str) -> None:
        unknown = [t for t in tasks if t not in self.tasks]
        if unknown:
            raise KeyError(f'MTLoRA has no task-specific modules for {what} '
                           f'{unknown}; its tasks are {list(self.tasks)}')

    def _per_task(self, value, what: str) -> Dict[str, float]:
        if isinstance(value, Mapping):
            missing = [t for t in self.tasks if t not in value]
            if missing:
                raise KeyError(f'MTLoRA: {what} {dict(value)} lacks tasks '
                               f'{missing}')
            return {t: value[t] for t in self.tasks}
        return {t: value for t in self.tasks}

    @staticmethod
    def group_name(task: str) -> str:
        return f'mtlora.{task}'

    # --------------------------------------------------------------- build
    def attach(self, backbone: nn.Module) -> None:
        super().attach(backbone)
        blocks = self._task_blocks
        if blocks is None:
            blocks = getattr(backbone, 'out_indices', None)
        if not blocks:
            raise ValueError('MTLoRA: no task blocks; give task_blocks or '
                             'a backbone with out_indices')
        n = self.num_layers
        self.task_blocks = tuple(sorted({b + n if b < 0 else b
                                         for b in blocks}))
        if not all(0 <= b < n for b in self.task_blocks):
            raise IndexError(f'MTLoRA: task_blocks {list(blocks)} outside '
                             f'the {n} blocks')
        shared = self.select_modules(backbone, self.targets)
        names = {name for name, _ in shared}
        for name, layer in shared:
            key = self.module_key(name)
            self.shared[key] = LoRABranch(layer.in_features,
                                          layer.out_features, self.rank,
                                          self.shared_scale, self.dropout)
            self.add_forward_hook(layer, functools.partial(self._hook, key))
        for b in self.task_blocks:
            for rel in _TS_LAYERS:
                name = f'blocks.{b}.{rel}'
                if name not in names:
                    raise ValueError(
                        f'MTLoRA: task-specific layer "{name}" must also be '
                        f'a task-agnostic target; targets {self.targets}')
                layer = backbone.get_submodule(name)
                for t in self.tasks:
                    self.task_lora[t][self.module_key(name)] = LoRABranch(
                        layer.in_features, layer.out_features,
                        self.task_rank[t], self.task_scale[t])

    def trainable_patterns(self) -> Tuple[str, ...]:
        return ((_NORM, ) if self.train_norm else ()) + (
            (_PATCH_EMBED, ) if self.train_patch_embed else ())

    def reset_parameters(self) -> None:
        for branch in self.shared.values():
            branch.reset_parameters()
        for branches in self.task_lora.values():
            for branch in branches.values():
                branch.reset_parameters()

    # ------------------------------------------------------------- forward
    def _hook(self, key: str, module: nn.Module, args: tuple,
              output: Tensor) -> Tensor:
        branch = self.shared[key]
        x = branch.dropout(args[0])
        if self._capture is not None:
            # Inputs and frozen output of this layer, for the task paths.
            self._capture[key] = (args[0], x, output)
        return output + branch.lowrank(x).to(output.dtype)

    def pass_tasks(self, ctx: Optional[PromptContext]) -> Tuple[str, ...]:
        """Tasks this pass computes (all when the context names none)."""
        if ctx is None or ctx.tasks is None:
            return self.tasks
        self._check_tasks(ctx.tasks, 'the tasks of this pass')
        return tuple(ctx.tasks)

    def forward_block(self, index: int, block: nn.Module, x: Tensor,
                      layout: TokenLayout,
                      ctx: Optional[PromptContext]) -> Tensor:
        if index not in self.task_blocks or ctx is None:
            return block(x)
        self._capture = {}
        try:
            out = block(x)
            captured = self._capture
        finally:
            self._capture = None
        key = functools.partial(self._key, index)
        proj_in, proj_drop, proj_out = captured[key('attn.proj')]
        fc1_in, _, fc1_out = captured[key('mlp.fc1')]
        fc2_in, _, fc2_out = captured[key('mlp.fc2')]
        feats = {}
        for t in self.pass_tasks(ctx):
            ts = self.task_lora[t]
            proj_t = block.attn.proj_drop(
                proj_out + ts[key('attn.proj')].lowrank(proj_drop))
            x1_t = x + block.drop_path1(proj_t)
            fc1_t = fc1_out + ts[key('mlp.fc1')].lowrank(block.norm2(x1_t))
            g_t = block.mlp.drop(block.mlp.act(fc1_t))
            fc2_t = fc2_out + ts[key('mlp.fc2')].lowrank(g_t)
            feats[t] = x1_t + block.drop_path2(block.mlp.drop(fc2_t))
        ctx.cache[('MTLoRA', index)] = feats
        return out

    def _key(self, index: int, rel: str) -> str:
        return self.module_key(f'blocks.{index}.{rel}')

    def tap(self, index: int, x: Tensor, layout: TokenLayout,
            ctx: Optional[PromptContext]) -> Tuple[Tensor, TokenLayout]:
        feats = None if ctx is None else ctx.cache.get(('MTLoRA', index))
        if feats is None:
            return x, layout
        patch = layout.patch_slice
        groups = {self.group_name(t): patch.stop - patch.start
                  for t in feats}
        groups.update({g: s.stop - s.start
                       for g, s in layout.prompts.items()})
        tokens = [f[:, patch] for f in feats.values()] + [x]
        return torch.cat(tokens, dim=1), layout.with_prompts(groups)

    def readout(self, task: Optional[str], patch_tokens: Tensor,
                tokens: Tensor, layout: TokenLayout) -> Tensor:
        if task is None:
            return patch_tokens
        self._check_tasks((task, ), 'the head of task')
        group = self.group_name(task)
        if group not in layout.prompts:
            served = [g[7:] for g in layout.prompts
                      if g.startswith('mtlora.')]
            raise KeyError(f'MTLoRA: head of task "{task}" reads a pass '
                           f'that computed tasks {served} (the task blocks '
                           f'are {list(self.task_blocks)})')
        return tokens[:, layout.prompts[group]]
