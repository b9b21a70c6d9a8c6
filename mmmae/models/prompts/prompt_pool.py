"""Prompt pool of Learning to Prompt (L2P; Wang et al., CVPR 2022).

Faithful to the paper and its code (google-research/l2p):

- a pool of M prompts of length Lp, each with a learnable key (M, D);
- the query is the frozen backbone's own feature of the same input without
  prompts (L2P: the [CLS] token; MultiMAE's analogue is its global token),
  computed under ``no_grad`` by ``ctx.query_fn()``;
- cosine similarity between query and keys, top-N selection per sample;
  with ``batchwise=True`` (the default, as in both official L2P configs) the
  N prompts chosen most often over the batch (majority vote) serve every
  sample. Ties keep ``jax.lax.top_k``'s order, lower index first, both
  among equal similarities and among equal vote counts, and the chosen
  prompts are ordered by count (``jnp.unique`` then ``top_k`` on counts);
- the surrogate key-pull loss ``-lambda * sum cos(selected key, query) / B``
  (the reference's ``reduce_sim``: summed over the batch and the N selected
  keys, divided by the batch size B only), whose gradient reaches only the
  selected keys (selection is an argmax and the query is detached), goes
  into ``ctx.losses['loss_prompt_pull']``;
- the N selected prompts are concatenated and prepended once, before block 0
  (L2P's prompt-tuning form). Init is uniform in [-1, 1] for prompts and
  keys, as in the PyTorch re-implementation (JH-LEE-KR/l2p-pytorch).

Additions: ``deep=True`` keeps one pool per block and, with the same
selection, replaces the prompt tokens before every block (VPT-deep style).
L2P's classifier reads the prompt outputs; here dense heads read the patch
tokens, which the prompts reach through attention.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import TokenLayout
from .base_prompt import BasePrompt, PromptContext


@MODELS.register_module()
class PromptPool(BasePrompt):
    """L2P prompt pool: keys pick N of M prompts per sample from a query.

    Args:
        pool_size (int): Prompts in the pool M. Defaults to 10.
        length (int): Tokens per prompt Lp. Defaults to 5.
        top_k (int): Prompts selected per sample N. Defaults to 5.
        batchwise (bool): Use the batch's majority selection for every
            sample, as both official L2P configs do. Defaults to True.
        pull_weight (float): lambda of the key pull loss; 0 disables it.
            Defaults to 0.1 (l2p-pytorch's CIFAR-100 default; the JAX
            configs use 1.0 and 0.5).
        deep (bool): One pool per block, replaced before every block.
        dropout (float): Dropout on the prompt tokens. Defaults to 0.
        init_bound (float): Uniform init bound of prompts and keys.
        **kwargs: see :class:`BasePrompt`.

    Shapes:
        query: (B, D); keys: (M, D); prompts: (n_pool, M, Lp, D) with
        n_pool = num_layers if deep else 1
        before block 0: x (B, N_tok, D) -> (B, N * Lp + N_tok, D)
    """

    group = 'pool'
    loss_name = 'loss_prompt_pull'

    def __init__(self,
                 pool_size: int = 10,
                 length: int = 5,
                 top_k: int = 5,
                 batchwise: bool = True,
                 pull_weight: float = 0.1,
                 deep: bool = False,
                 dropout: float = 0.,
                 init_bound: float = 1.,
                 **kwargs):
        super().__init__(**kwargs)
        if not 1 <= top_k <= pool_size:
            raise ValueError(f'PromptPool: top_k={top_k} must lie in '
                             f'[1, pool_size={pool_size}]')
        self.check_length(top_k * length,
                          f'top_k={top_k} x length={length}')
        self.pool_size = pool_size
        self.length = length
        self.top_k = top_k
        self.batchwise = batchwise
        self.pull_weight = pull_weight
        self.deep = deep
        self.init_bound = init_bound
        n_pool = self.num_layers if deep else 1
        self.prompt = nn.Parameter(
            torch.empty(n_pool, pool_size, length, self.embed_dims))
        self.key = nn.Parameter(torch.empty(pool_size, self.embed_dims))
        self.dropout = nn.Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.uniform_(self.prompt, -self.init_bound, self.init_bound)
        nn.init.uniform_(self.key, -self.init_bound, self.init_bound)

    def _top_k(self, scores: Tensor) -> Tensor:
        """Indices of the k largest along the last dim, ties lower index
        first (``jax.lax.top_k``'s order; ``torch.topk`` leaves it open)."""
        order = scores.sort(dim=-1, descending=True, stable=True).indices
        return order[..., :self.top_k]

    def select(self, query: Tensor) -> Tuple[Tensor, Tensor]:
        """Cosine top-N selection, per sample or by batch majority vote.

        Returns:
            tuple: indices (B, N), distinct per row, and the similarity of
            every key (B, M).
        """
        if query.shape[-1] != self.embed_dims:
            raise ValueError(f'PromptPool: query width {query.shape[-1]} != '
                             f'embed_dims {self.embed_dims}')
        sim = F.normalize(query, dim=-1) @ F.normalize(self.key, dim=-1).t()
        idx = self._top_k(sim.detach())  # B N
        if self.batchwise:
            # Votes per prompt id (the reference's jnp.unique counts, indexed
            # by id); the N most voted, ties to the lower id.
            counts = torch.bincount(idx.flatten(), minlength=self.pool_size)
            major = self._top_k(counts)  # N
            idx = major.unsqueeze(0).expand(sim.shape[0], -1)
        return idx, sim

    def _selected_tokens(self, layer: int, idx: Tensor) -> Tensor:
        # (M, Lp, D)[B, N] -> B N Lp D -> B (N Lp) D
        tokens = self.prompt[layer][idx]
        return self.dropout(tokens.flatten(1, 2))

    def before_block(self, index: int, x: Tensor, layout: TokenLayout,
                     ctx: PromptContext) -> Tuple[Tensor, TokenLayout]:
        if index > 0 and not self.deep:
            return x, layout
        if index == 0:
            if ctx is None or ctx.query_fn is None:
                raise RuntimeError('PromptPool needs ctx.query_fn (the frozen '
                                   'backbone feature) to select prompts')
            query = ctx.query_fn().detach()
            if query.shape[0] != x.shape[0]:
                raise ValueError(f'PromptPool: query batch {query.shape[0]} '
                                 f'!= token batch {x.shape[0]}')
            idx, sim = self.select(query)
            ctx.cache[self.group] = idx
            if self.pull_weight:
                # Summed over the N selected keys, averaged over the batch.
                ctx.losses[self.loss_name] = -self.pull_weight * sim.gather(
                    1, idx).sum() / sim.shape[0]
        idx = ctx.cache[self.group]
        tokens = self._selected_tokens(index if self.deep else 0, idx)
        return self.replace_prompts(x, layout, {self.group: tokens})
