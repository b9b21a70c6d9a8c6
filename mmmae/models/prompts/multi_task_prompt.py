"""Shared plus task-specific prompts for multi-task dense prediction.

No single paper defines this for MultiMAE; the parts come from VPT (Jia et
al., ECCV 2022: prompt tokens with no position, VPT init, prompt dropout,
shallow insertion or per-block replacement) and from the shared +
task-specific split used by multi-task prompt methods (e.g. MmAP's group-
shared and task-specific prompts, TaskPrompter's task prompts).

One pass for all tasks: ``ctx.tasks`` lists every task served, and the
sequence is ``[shared, task_1, ..., task_T, patches, global]``. Patch tokens
are then common to all heads, so task prompts could only act through the
shared patch tokens and would be indistinguishable from shared prompts. The
read-out gives each head its own view:

    readout_t(X) = X + gamma_t * softmax(LN(X) LN(P_t)^T / sqrt(D)) P_t

where X are the patch tokens at a tapped block, P_t that block's outputs
of task t's prompts, LN a LayerNorm without affine parameters, and gamma_t
a per-task, per-channel scale initialised to zero. Each patch attends to its
task's prompt outputs and adds what it reads, so the head's input changes
place by place and task by task. The choice, over a learned linear
projection, keeps the cost at D parameters per task (a D×D projection per
task would add 0.7% of ViT-B per task); zero-init makes step 0 equal to the
prompt-free read-out, as zero-initialised LoRA branches do.

Per-task passes (segmentor ``one_pass=False``): ``ctx.tasks == (t,)`` puts
only ``[shared, task_t]`` in the sequence, and the same read-out applies.
"""
import math
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import TokenLayout
from .base_prompt import (BasePrompt, PromptContext, check_names,
                          expand_batch, prompt_table)


@MODELS.register_module()
class MultiTaskPrompt(BasePrompt):
    """Shared and per-task prompts, all tasks in one pass, per-task read-out.

    Args:
        tasks (Sequence[str]): Task names, e.g. ``('depth', 'semseg')``.
        shared_length (int): Shared prompt tokens Ls (may be 0).
        task_length (int): Prompt tokens per task Lt.
        deep (bool): Fresh prompts replace the old ones before every block
            (VPT-deep); otherwise insert once before block 0. Defaults to
            True.
        dropout (float): Prompt dropout. Defaults to 0.1.
        task_readout (bool): Apply the per-task read-out (module docstring);
            False gives every head the bare patch tokens (ablation).
        **kwargs: see :class:`BasePrompt`.

    Shapes:
        before a block: x (B, N_prompt + N, D) -> (B, Ls + T' * Lt + N, D)
        with T' tasks in ``ctx.tasks`` (all tasks when it is None)
        readout: patch_tokens (B, N_patch, D) -> (B, N_patch, D)
    """

    def __init__(self,
                 tasks: Sequence[str],
                 shared_length: int = 10,
                 task_length: int = 10,
                 deep: bool = True,
                 dropout: float = 0.1,
                 task_readout: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        tasks = (tasks, ) if isinstance(tasks, str) else tuple(tasks)
        if not tasks or len(set(tasks)) != len(tasks):
            raise ValueError(f'MultiTaskPrompt: tasks {tasks} must be a '
                             'non-empty list of distinct names')
        if shared_length < 0 or task_length < 1:
            raise ValueError(f'MultiTaskPrompt: shared_length={shared_length}'
                             f' must be >= 0, task_length={task_length} >= 1')
        self.check_length(
            shared_length + len(tasks) * task_length,
            f'shared_length={shared_length} + {len(tasks)} tasks x '
            f'task_length={task_length}')
        self.tasks = tasks
        self.shared_length = shared_length
        self.task_length = task_length
        self.deep = deep
        self.task_readout = task_readout
        n = self.num_layers if deep else 1
        self.shared = prompt_table(n, shared_length, self.embed_dims) \
            if shared_length else None
        self.task_prompts = nn.ParameterDict(
            {t: prompt_table(n, task_length, self.embed_dims) for t in tasks})
        self.readout_scale = nn.ParameterDict({
            t: nn.Parameter(torch.zeros(self.embed_dims))
            for t in tasks
        }) if task_readout else None
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    @staticmethod
    def group_name(task: str) -> str:
        return f'task.{task}'

    def reset_parameters(self) -> None:
        bound = self.vpt_init_bound()
        if self.shared is not None:
            nn.init.uniform_(self.shared, -bound, bound)
        for p in self.task_prompts.values():
            nn.init.uniform_(p, -bound, bound)
        if self.readout_scale is not None:
            for p in self.readout_scale.values():
                nn.init.zeros_(p)

    def pass_tasks(self, ctx: Optional[PromptContext]) -> Tuple[str, ...]:
        """Tasks whose prompts this pass carries (all when unspecified)."""
        if ctx is None or ctx.tasks is None:
            return self.tasks
        check_names('task', ctx.tasks, self.tasks, type(self).__name__)
        return tuple(ctx.tasks)

    def before_block(self, index: int, x: Tensor, layout: TokenLayout,
                     ctx: PromptContext) -> Tuple[Tensor, TokenLayout]:
        if index > 0 and not self.deep:
            return x, layout
        layer = index if self.deep else 0
        B = x.shape[0]
        groups: Dict[str, Tensor] = {}
        if self.shared is not None:
            groups['shared'] = self.dropout(
                expand_batch(self.shared[layer], B))
        for task in self.pass_tasks(ctx):
            groups[self.group_name(task)] = self.dropout(
                expand_batch(self.task_prompts[task][layer], B))
        return self.replace_prompts(x, layout, groups)

    def readout(self, task: Optional[str], patch_tokens: Tensor, tokens: Tensor,
                layout: TokenLayout) -> Tensor:
        if task is None or self.readout_scale is None:
            return patch_tokens
        check_names('task', (task, ), self.tasks, type(self).__name__)
        group = self.group_name(task)
        if group not in layout.prompts:
            served = [g[5:] for g in layout.prompts if g.startswith('task.')]
            raise KeyError(f'{type(self).__name__}: head of task "{task}" '
                           f'reads a pass that served tasks {served}')
        prompts = tokens[:, layout.prompts[group]]  # B Lt D
        D = patch_tokens.shape[-1]
        q = F.layer_norm(patch_tokens, (D, ))
        k = F.layer_norm(prompts, (D, ))
        attn = (q @ k.transpose(1, 2) / math.sqrt(D)).softmax(-1)  # B N Lt
        return patch_tokens + self.readout_scale[task] * (attn @ prompts)
