"""Multi-head self- and cross-attention on ``F.scaled_dot_product_attention``."""
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


def _xavier_blocks_(linear: nn.Linear, num_blocks: int) -> None:
    """Xavier-uniform init of each of ``num_blocks`` stacked D x D blocks.

    A fused qkv (or kv) projection is ``num_blocks`` projections side by
    side; MultiMAE initialises each as its own D -> D layer (bound
    sqrt(6 / 2D)), not the fused (num_blocks*D) x D matrix as one.
    """
    out_dims, in_dims = linear.weight.shape
    for block in linear.weight.data.view(num_blocks, out_dims // num_blocks,
                                         in_dims):
        nn.init.xavier_uniform_(block)
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)


def _xavier_(linear: nn.Linear) -> None:
    nn.init.xavier_uniform_(linear.weight)
    if linear.bias is not None:
        nn.init.zeros_(linear.bias)


class Attention(nn.Module):
    """Multi-head self-attention.

    Args:
        embed_dims (int): Token width D.
        num_heads (int): Number of heads; must divide ``embed_dims``.
        qkv_bias (bool): Bias on the qkv projection. Defaults to True.
        attn_drop (float): Dropout on attention weights. Defaults to 0.
        proj_drop (float): Dropout after the output projection. Defaults to 0.

    Shapes:
        x: (B, N, D) -> (B, N, D)
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.):
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """MultiMAE's init: q, k and v as three xavier blocks, zero biases."""
        _xavier_blocks_(self.qkv, 3)
        _xavier_(self.proj)

    def forward(self, x: Tensor) -> Tensor:
        B, N, D = x.shape
        # B N 3 H Dh -> 3 B H N Dh
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads,
                                  D // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        x = x.transpose(1, 2).reshape(B, N, D)  # B N D
        return self.proj_drop(self.proj(x))


class CrossAttention(nn.Module):
    """Multi-head attention from queries to a separate context sequence.

    Args:
        embed_dims (int): Width D of queries and context.
        num_heads (int): Number of heads.
        qkv_bias (bool): Bias on the q and kv projections. Defaults to True.
        attn_drop (float): Dropout on attention weights. Defaults to 0.
        proj_drop (float): Dropout after the output projection. Defaults to 0.

    Shapes:
        x: (B, Nq, D), context: (B, Nc, D) -> (B, Nq, D)
    """

    def __init__(self,
                 embed_dims: int,
                 num_heads: int,
                 qkv_bias: bool = True,
                 attn_drop: float = 0.,
                 proj_drop: float = 0.):
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        self.q = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.kv = nn.Linear(embed_dims, embed_dims * 2, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """MultiMAE's init: xavier q; k and v as two xavier blocks."""
        _xavier_(self.q)
        _xavier_blocks_(self.kv, 2)
        _xavier_(self.proj)

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        B, Nq, D = x.shape
        Nc = context.shape[1]
        head_dims = D // self.num_heads
        q = self.q(x).reshape(B, Nq, self.num_heads,
                              head_dims).transpose(1, 2)  # B H Nq Dh
        kv = self.kv(context).reshape(B, Nc, 2, self.num_heads,
                                      head_dims).permute(2, 0, 3, 1, 4)
        k, v = kv.unbind(0)  # B H Nc Dh
        x = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.attn_drop if self.training else 0.)
        x = x.transpose(1, 2).reshape(B, Nq, D)
        return self.proj_drop(self.proj(x))
