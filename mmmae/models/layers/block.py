"""Pre-norm transformer blocks: self-attention, and cross-attention for decoders."""
from functools import partial

import torch.nn as nn
from mmcv.cnn.bricks import DropPath
from torch import Tensor

from .attention import Attention, CrossAttention
from .mlp import Mlp

LayerNorm = partial(nn.LayerNorm, eps=1e-6)


class Block(nn.Module):
    """Pre-norm ViT block: ``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``.

    Args:
        embed_dims (int): Token width D.
        num_heads (int): Attention heads.
        mlp_ratio (float): Hidden width of the MLP over D. Defaults to 4.
        qkv_bias (bool): Bias on qkv. Defaults to True.
        drop (float): Dropout after projections. Defaults to 0.
        attn_drop (float): Attention dropout. Defaults to 0.
        drop_path (float): Stochastic depth rate of both residuals.

    Shapes:
        x: (B, N, D) -> (B, N, D)
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop: float = 0.,
                 attn_drop: float = 0.,
                 drop_path: float = 0.):
        super().__init__()
        self.norm1 = LayerNorm(embed_dims)
        self.attn = Attention(embed_dims, num_heads, qkv_bias, attn_drop, drop)
        self.drop_path1 = DropPath(drop_path) if drop_path else nn.Identity()
        self.norm2 = LayerNorm(embed_dims)
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio), drop=drop)
        self.drop_path2 = DropPath(drop_path) if drop_path else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.drop_path1(self.attn(self.norm1(x)))
        return x + self.drop_path2(self.mlp(self.norm2(x)))


class CrossAttentionBlock(nn.Module):
    """Queries attend to a context, then an MLP: MultiMAE's decoder entry.

    ``x + cross_attn(norm_q(x), norm_ctx(context))`` then ``x + mlp(norm2(x))``.

    Shapes:
        x: (B, Nq, D), context: (B, Nc, D) -> (B, Nq, D)
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop: float = 0.,
                 attn_drop: float = 0.,
                 drop_path: float = 0.):
        super().__init__()
        self.norm1 = LayerNorm(embed_dims)
        self.context_norm = LayerNorm(embed_dims)
        self.cross_attn = CrossAttention(embed_dims, num_heads, qkv_bias,
                                         attn_drop, drop)
        self.drop_path1 = DropPath(drop_path) if drop_path else nn.Identity()
        self.norm2 = LayerNorm(embed_dims)
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio), drop=drop)
        self.drop_path2 = DropPath(drop_path) if drop_path else nn.Identity()

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        x = x + self.drop_path1(
            self.cross_attn(self.norm1(x), self.context_norm(context)))
        return x + self.drop_path2(self.mlp(self.norm2(x)))
