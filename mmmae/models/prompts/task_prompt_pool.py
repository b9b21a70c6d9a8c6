"""Task-specific prompt pools: one L2P pool per task, all tasks in one pass.

The Enhanced-MultiMAE work names task-specific prompt pools as future work;
no paper fixes the design for dense multi-task prediction, so it combines
two parts already in mmmae:

- per task t, an L2P pool (:class:`PromptPool`, Wang et al., CVPR 2022):
  M prompts of Lp tokens with learnable keys, queried by the frozen
  backbone's own feature of the input (computed once per pass and shared by
  every pool), cosine top-N selection (batch-wise majority vote by
  default), and L2P's key pull loss ``-lambda * sum cos(key, query) / B``
  per pool, logged as ``loss_prompt_pull_{task}``. Selection and tokens
  come from :meth:`PromptPool.select` and ``PromptPool._selected_tokens``;
  nothing of the L2P logic is re-implemented here;
- the one-pass layout and read-out of :class:`MultiTaskPrompt`: the
  sequence is ``[task_1 selection, ..., task_T selection, patches,
  global]``, and each head reads its patch tokens plus a zero-initialised,
  attention-pooled view of its own task's selected prompt outputs
  (``MultiTaskPrompt.readout``), so step 0 equals the prompt-free read-out
  of the prompted pass.

With ``one_pass=False`` in the segmentor, ``ctx.tasks == (t,)`` inserts only
task t's selection.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import TokenLayout
from .base_prompt import BasePrompt, PromptContext
from .multi_task_prompt import MultiTaskPrompt
from .prompt_pool import PromptPool


@MODELS.register_module()
class TaskPromptPool(BasePrompt):
    """One L2P prompt pool per task, selected in one multi-task pass.

    Args:
        tasks (Sequence[str]): Task names, e.g. ``('depth', 'semseg')``.
        pool_size (int): Prompts per pool M. Defaults to 10.
        length (int): Tokens per prompt Lp. Defaults to 5.
        top_k (int): Prompts selected per pool N. Defaults to 5.
        batchwise (bool): Batch majority vote (L2P's configs). Defaults to
            True.
        pull_weight (float): lambda of each pool's key pull loss.
            Defaults to 0.1.
        deep (bool): One pool table per block, replaced before every block.
        dropout (float): Dropout on the prompt tokens. Defaults to 0.
        init_bound (float): Uniform init bound of prompts and keys.
        task_readout (bool): Per-task read-out of the selected prompts'
            outputs; False gives every head the bare patch tokens.
        **kwargs: see :class:`BasePrompt`.

    Shapes:
        query: (B, D) -> per task indices (B, N)
        before block 0: x (B, N_tok, D) -> (B, T' * N * Lp + N_tok, D), T'
        the tasks of ``ctx.tasks`` (all when None)
        readout: patch_tokens (B, N_patch, D) -> (B, N_patch, D)
    """

    def __init__(self,
                 tasks: Sequence[str],
                 pool_size: int = 10,
                 length: int = 5,
                 top_k: int = 5,
                 batchwise: bool = True,
                 pull_weight: float = 0.1,
                 deep: bool = False,
                 dropout: float = 0.,
                 init_bound: float = 1.,
                 task_readout: bool = True,
                 **kwargs):
        super().__init__(**kwargs)
        tasks = (tasks, ) if isinstance(tasks, str) else tuple(tasks)
        if not tasks or len(set(tasks)) != len(tasks):
            raise ValueError(f'TaskPromptPool: tasks {tasks} must be a '
                             'non-empty list of distinct names')
        self.check_length(
            len(tasks) * top_k * length,
            f'{len(tasks)} tasks x top_k={top_k} x length={length}')
        self.tasks = tasks
        self.deep = deep
        self.pull_weight = pull_weight
        self.pools = nn.ModuleDict({
            t: PromptPool(
                pool_size=pool_size, length=length, top_k=top_k,
                batchwise=batchwise, pull_weight=pull_weight, deep=deep,
                dropout=dropout, init_bound=init_bound,
                embed_dims=self.embed_dims, num_layers=self.num_layers,
                patch_size=self.patch_size, max_length=self.max_length)
            for t in tasks
        })
        self.readout_scale = nn.ParameterDict({
            t: nn.Parameter(torch.zeros(self.embed_dims))
            for t in tasks
        }) if task_readout else None

    # The one-pass layout and per-task read-out are MultiTaskPrompt's: the
    # same group names, task check and attention-pooled, zero-init read-out
    # (they read ``tasks``, ``readout_scale`` and ``group_name`` only).
    group_name = staticmethod(MultiTaskPrompt.group_name)
    pass_tasks = MultiTaskPrompt.pass_tasks
    readout = MultiTaskPrompt.readout

    @staticmethod
    def loss_name(task: str) -> str:
        return f'loss_prompt_pull_{task}'

    def reset_parameters(self) -> None:
        for pool in self.pools.values():
            pool.reset_parameters()
        if self.readout_scale is not None:
            for p in self.readout_scale.values():
                nn.init.zeros_(p)

    def _select(self, x: Tensor, ctx: Optional[PromptContext]) -> None:
        """Every served pool's selection into ``ctx.cache``, pull losses
        into ``ctx.losses``."""
        if ctx is None or ctx.query_fn is None:
            raise RuntimeError('TaskPromptPool needs ctx.query_fn (the '
                               'frozen backbone feature) to select prompts')
        query = ctx.query_fn().detach()
        if query.shape[0] != x.shape[0]:
            raise ValueError(f'TaskPromptPool: query batch {query.shape[0]}'
                             f' != token batch {x.shape[0]}')
        for task in self.pass_tasks(ctx):
            idx, sim = self.pools[task].select(query)
            ctx.cache[self.group_name(task)] = idx
            if self.pull_weight:
                # PromptPool's reduce_sim: summed over the N selected keys,
                # divided by the batch size.
                ctx.losses[self.loss_name(task)] = -self.pull_weight * \
                    sim.gather(1, idx).sum() / sim.shape[0]

    def before_block(self, index: int, x: Tensor, layout: TokenLayout,
                     ctx: PromptContext) -> Tuple[Tensor, TokenLayout]:
        if index > 0 and not self.deep:
            return x, layout
        if index == 0:
            self._select(x, ctx)
        layer = index if self.deep else 0
        groups: Dict[str, Tensor] = {}
        for task in self.pass_tasks(ctx):
            group = self.group_name(task)
            groups[group] = self.pools[task]._selected_tokens(
                layer, ctx.cache[group])  # B (N Lp) D
        return self.replace_prompts(x, layout, groups)
