"""Multi-task prompt learners for CLIP: the common machinery.

A CLIP prompt learner plugs into both towers through two hooks:

- ``before_text_block(i, x, task)`` (text tower): replace the token
  embeddings right after the start token with the task's text prompts of
  layer i (i == 0: CoOp's context vectors, among the word embeddings
  before the tower adds positions, as CoOp and MaPLe do; i > 0: deep text
  prompts in the residual stream);
- ``before_block(i, x, layout, ctx)`` (image tower, mmmae's
  :class:`BasePrompt` hook): put the visual prompts of layer i first in the
  sequence, replacing the previous layer's (deep prompts); each image gets
  the prompts of its own task (``ctx.sample_tasks``), so a batch that
  mixes tasks needs one pass.

The parameters live in *units* (:class:`PromptUnit`, one per method: CoOp
context, VPT prompts, MaPLe prompts + couplings, an MmAP). The multi-task
(-MT) form keeps one unit per task group ("group-shared", used by every
task of the group) and optionally one per task ("task-specific"); a task's
prompts are its group unit's tokens followed by its task unit's tokens.
With one group of all tasks and no task units this is plain multi-task
training of one shared prompt; with one task it is the single-task method.

``ctx_init`` (CoOp, MaPLe): the layer-0 text context starts as the word
embeddings of a phrase, and the classifier writes the phrase itself (not
placeholders) before each class name, so before training the prompted text
is exactly "<phrase> <class>." (CoOp's and MaPLe's ``ctx_init``). The
classifier calls :meth:`BaseCLIPPrompt.init_text_context` with the
phrase's embeddings once its CLIP weights are loaded.
"""
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from ...layers import TokenLayout
from ..base_prompt import BasePrompt, PromptContext
from .grouping import resolve_groups


@dataclass
class CLIPPromptContext(PromptContext):
    """:class:`PromptContext` plus the task of every image in the batch.

    Attributes:
        sample_tasks (tuple): B task names, one per image.
    """
    sample_tasks: Tuple[str, ...] = ()


class PromptUnit(nn.Module):
    """One set of prompt parameters (one task, or one group of tasks).

    Subclasses set the four sizes and implement ``text`` / ``visual``.

    Attributes:
        text_length (int): Text prompt tokens per prompted layer (0: none).
        text_depth (int): Text layers 0..text_depth-1 get prompts.
        visual_length (int): Visual prompt tokens per prompted layer.
        visual_depth (int): Image layers 0..visual_depth-1 get prompts.
    """
    text_length = 0
    text_depth = 0
    visual_length = 0
    visual_depth = 0
    # True when text(0) is a free (text_length, D_text) tensor that
    # init_text() can set (CoOp, MaPLe); MmAP's is a Kronecker product.
    supports_ctx_init = False

    def text(self, layer: int) -> Tensor:
        """(text_length, D_text) prompts of text layer ``layer``."""
        raise NotImplementedError

    def visual(self, layer: int) -> Tensor:
        """(visual_length, D_vision) prompts of image layer ``layer``."""
        raise NotImplementedError

    def init_text(self, embeds: Tensor) -> None:
        """Set text(0) to ``embeds`` (text_length, D_text) (``ctx_init``)."""
        raise NotImplementedError(
            f'{type(self).__name__} cannot start from a phrase')

    def reset_parameters(self) -> None:
        raise NotImplementedError


class BaseCLIPPrompt(BasePrompt):
    """Group-shared and task-specific prompt units on CLIP's two towers.

    The classifier fills in ``tasks``, ``embed_dims`` / ``num_layers`` /
    ``patch_size`` (image tower) and ``text_dims`` / ``num_text_layers``.
    A subclass implements ``build_unit()``.

    Args:
        tasks (Sequence[str]): Task names (one per domain).
        text_dims (int): Text tower width.
        num_text_layers (int): Text tower depth.
        groups (dict, optional): group name -> tasks sharing a unit.
        grouping_file (str, optional): JSON from
            ``tools/analysis_tools/task_affinity.py``; its ``groups`` are
            used. Neither: one group of all tasks.
        group_shared (bool): Build the group-shared units. Defaults to True.
        task_specific (bool): Build one unit per task. Defaults to False.
        dropout (float): Dropout on the visual prompt tokens (VPT's prompt
            dropout). Defaults to 0.
        ctx_init (str, optional): A phrase (e.g. ``'a photo of a'``) whose
            word embeddings start every task's layer-0 text context (first
            the group-shared unit's tokens, then the task unit's); the
            phrase needs at least ``text_length`` tokens. Only for units
            with free text contexts (CoOp, MaPLe). None: random contexts
            after ``X X ... X`` placeholders.
        **kwargs: ``embed_dims``, ``num_layers``, ``patch_size``,
            ``max_length``, ``init_cfg`` of :class:`BasePrompt`.

    Shapes:
        before_text_block: x (N_cls, L_ctx, D_text) -> same shape
        before_block: x (B, N_prompt + N_patch + 1, D) -> (B, L_v + N_patch
            + 1, D), L_v = visual tokens of the shared plus the task unit
    """

    def __init__(self,
                 tasks: Sequence[str],
                 text_dims: int,
                 num_text_layers: int,
                 groups: Optional[Dict[str, Sequence[str]]] = None,
                 grouping_file: Optional[str] = None,
                 group_shared: bool = True,
                 task_specific: bool = False,
                 dropout: float = 0.,
                 ctx_init: Optional[str] = None,
                 **kwargs):
        super().__init__(**kwargs)
        if not tasks:
            raise ValueError(f'{type(self).__name__} needs at least one task')
        if len(set(tasks)) != len(tasks):
            raise ValueError(f'duplicate task names in {list(tasks)}')
        if not (group_shared or task_specific):
            raise ValueError(f'{type(self).__name__}: group_shared and '
                             'task_specific are both False: no prompts')
        self.tasks = tuple(tasks)
        self.text_dims = text_dims
        self.num_text_layers = num_text_layers
        self.groups = resolve_groups(self.tasks, groups, grouping_file)
        self.task_to_group = {t: g for g, ts in self.groups.items()
                              for t in ts}
        self.group_shared = group_shared
        self.task_specific = task_specific
        self.dropout = nn.Dropout(dropout)

        self.units = nn.ModuleDict()
        if group_shared:
            for g in self.groups:
                self.units[f'shared_{g}'] = self.build_unit()
        if task_specific:
            for t in self.tasks:
                self.units[f'task_{t}'] = self.build_unit()
        unit = next(iter(self.units.values()))
        per_task = int(group_shared) + int(task_specific)
        self.text_length = unit.text_length * per_task
        self.visual_length = unit.visual_length * per_task
        self.text_depth = unit.text_depth
        self.visual_depth = unit.visual_depth
        if self.text_depth > num_text_layers:
            raise ValueError(f'text prompt depth {self.text_depth} exceeds '
                             f'the {num_text_layers} text layers')
        if self.visual_depth > self.num_layers:
            raise ValueError(f'visual prompt depth {self.visual_depth} '
                             f'exceeds the {self.num_layers} image layers')
        if self.visual_length:
            self.check_length(self.visual_length, 'the visual prompts')
        if ctx_init is not None:
            if not isinstance(ctx_init, str) or not ctx_init.strip():
                raise ValueError(f'{type(self).__name__}: ctx_init must be '
                                 f'a non-empty phrase, got {ctx_init!r}')
            if not (unit.supports_ctx_init and self.text_length):
                raise ValueError(
                    f'{type(self).__name__} has no free text context to '
                    f'start from ctx_init={ctx_init!r}; set ctx_init=None')
        self.ctx_init = ctx_init

    def build_unit(self) -> PromptUnit:
        raise NotImplementedError

    def reset_parameters(self) -> None:
        for unit in self.units.values():
            unit.reset_parameters()

    # ------------------------------------------------------------- routing
    @property
    def num_text_ctx(self) -> int:
        """Text placeholder tokens the classifier puts after the start token
        (0: the text keeps its hand-written template)."""
        return self.text_length

    def init_text_context(self, phrase_embeds: Tensor) -> None:
        """Start the layer-0 text context from ``ctx_init``'s embeddings.

        Args:
            phrase_embeds (Tensor): (T, D_text) word embeddings of the
                phrase's T tokens (no start / end token), T >=
                ``text_length``. A task's context [shared; task] becomes
                rows 0..text_length-1, so its prompted text equals the
                phrase's until training moves it.
        """
        if self.ctx_init is None:
            raise RuntimeError(f'{type(self).__name__} has no ctx_init')
        if phrase_embeds.dim() != 2 or \
                phrase_embeds.shape[1] != self.text_dims:
            raise ValueError(f'ctx_init embeddings must be (T, '
                             f'{self.text_dims}), got '
                             f'{tuple(phrase_embeds.shape)}')
        if phrase_embeds.shape[0] < self.text_length:
            raise ValueError(
                f'ctx_init "{self.ctx_init}" has {phrase_embeds.shape[0]} '
                f'tokens, fewer than the {self.text_length} context tokens '
                f'per task of {type(self).__name__}; use a longer phrase, '
                'fewer context tokens or ctx_init=None')
        for name, unit in self.units.items():
            # [shared; task]: a task unit follows the shared unit's tokens
            start = unit.text_length if (name.startswith('task_')
                                         and self.group_shared) else 0
            unit.init_text(phrase_embeds[start:start + unit.text_length])

    def units_of(self, task: str) -> 'OrderedDict[str, PromptUnit]':
        """A task's units in sequence order: group-shared, then its own."""
        if task not in self.task_to_group:
            raise KeyError(f'{type(self).__name__} has no prompts for task '
                           f'"{task}"; it was built for {list(self.tasks)}')
        units = OrderedDict()
        if self.group_shared:
            units['shared'] = self.units[f'shared_{self.task_to_group[task]}']
        if self.task_specific:
            units['task'] = self.units[f'task_{task}']
        return units

    def shared_parameters(self) -> List[nn.Parameter]:
        """Parameters of the group-shared units (task affinity measures the
        per-task gradients on these)."""
        return [p for name, unit in self.units.items()
                if name.startswith('shared_') for p in unit.parameters()]

    # -------------------------------------------------------------- hooks
    def before_text_block(self, index: int, x: Tensor,
                          task: Optional[str]) -> Tensor:
        if index >= self.text_depth or not self.text_length:
            return x
        task = self._single_task(task)
        prompts = torch.cat([u.text(index) for u in
                             self.units_of(task).values()]).to(x.dtype)
        n = prompts.shape[0]
        # N L D: [start, prompts, class name tokens..., end, padding]; at
        # index 0 these are word embeddings (the tower adds positions next)
        return torch.cat([x[:, :1], prompts.expand(x.shape[0], -1, -1),
                          x[:, 1 + n:]], dim=1)

    def before_block(self, index: int, x: Tensor, layout: TokenLayout,
                     ctx: Optional[PromptContext]
                     ) -> Tuple[Tensor, TokenLayout]:
        if index >= self.visual_depth or not self.visual_length:
            return x, layout
        sample_tasks = self._sample_tasks(ctx, x.shape[0])
        present = list(dict.fromkeys(sample_tasks))
        which = torch.tensor([present.index(t) for t in sample_tasks],
                             device=x.device)
        parts: Dict[str, List[Tensor]] = OrderedDict()
        for task in present:
            for name, unit in self.units_of(task).items():
                parts.setdefault(name, []).append(unit.visual(index))
        # per part: (T_present, L, D) -> (B, L, D) by each image's task
        tokens = OrderedDict(
            (name, self.dropout(torch.stack(p)[which].to(x.dtype)))
            for name, p in parts.items())
        return self.replace_prompts(x, layout, tokens)

    def _single_task(self, task: Optional[str]) -> str:
        if task is None:
            if len(self.tasks) != 1:
                raise ValueError(f'{type(self).__name__} serves tasks '
                                 f'{list(self.tasks)}; name the task')
            return self.tasks[0]
        return task

    def _sample_tasks(self, ctx: Optional[PromptContext],
                      batch: int) -> Sequence[str]:
        tasks = getattr(ctx, 'sample_tasks', ())
        if not tasks:
            return [self._single_task(None)] * batch
        if len(tasks) != batch:
            raise ValueError(f'ctx.sample_tasks has {len(tasks)} tasks for '
                             f'a batch of {batch} images')
        return tasks
