"""CLIP's residual attention block (Radford et al., ICML 2021).

Same computation as OpenAI's ``ResidualAttentionBlock``: pre-norm with
LayerNorm eps 1e-5, multi-head attention with one fused qkv projection,
an MLP of width 4·D with QuickGELU (OpenAI weights) or GELU (some open_clip
weights). The text tower passes ``causal=True``. Names follow mmmae's ViT
(``norm1``, ``attn.qkv``, ``attn.proj``, ``norm2``, ``mlp.fc1``,
``mlp.fc2``); ``tools/model_converters/clip2mmmae.py`` maps OpenAI's.
"""
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

# CLIP keeps torch's default eps (mmmae's ViT LayerNorm uses 1e-6).
CLIPLayerNorm = partial(nn.LayerNorm, eps=1e-5)


class QuickGELU(nn.Module):
    """``x * sigmoid(1.702 x)``: the activation OpenAI's CLIP was trained with."""

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(1.702 * x)


ACTIVATIONS = {'quick_gelu': QuickGELU, 'gelu': nn.GELU}


def build_activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise KeyError(f'unknown CLIP activation "{name}"; choose one of '
                       f'{sorted(ACTIVATIONS)}')
    return ACTIVATIONS[name]()


class CLIPAttention(nn.Module):
    """Multi-head self-attention with an optional causal mask.

    Args:
        embed_dims (int): Token width D.
        num_heads (int): Heads; must divide ``embed_dims``.

    Shapes:
        x: (B, N, D) -> (B, N, D)
    """

    def __init__(self, embed_dims: int, num_heads: int):
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dims, 3 * embed_dims)
        self.proj = nn.Linear(embed_dims, embed_dims)

    def forward(self, x: Tensor, causal: bool = False) -> Tensor:
        B, N, D = x.shape
        # B N 3 H Dh -> 3 B H N Dh
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads,
                                  D // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.proj(x.transpose(1, 2).reshape(B, N, D))  # B N D


class CLIPMlp(nn.Module):
    """``fc2(act(fc1(x)))`` with hidden width ``mlp_ratio * D``.

    Shapes:
        x: (..., D) -> (..., D)
    """

    def __init__(self, embed_dims: int, mlp_ratio: float = 4.,
                 act: str = 'quick_gelu'):
        super().__init__()
        hidden = int(embed_dims * mlp_ratio)
        self.fc1 = nn.Linear(embed_dims, hidden)
        self.act = build_activation(act)
        self.fc2 = nn.Linear(hidden, embed_dims)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.act(self.fc1(x)))


class CLIPBlock(nn.Module):
    """``x + attn(norm1(x))`` then ``x + mlp(norm2(x))``.

    Args:
        embed_dims (int): Token width D.
        num_heads (int): Attention heads.
        mlp_ratio (float): MLP width over D. Defaults to 4.
        act (str): ``'quick_gelu'`` (OpenAI) or ``'gelu'``.

    Shapes:
        x: (B, N, D) -> (B, N, D)
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 mlp_ratio: float = 4., act: str = 'quick_gelu'):
        super().__init__()
        self.norm1 = CLIPLayerNorm(embed_dims)
        self.attn = CLIPAttention(embed_dims, num_heads)
        self.norm2 = CLIPLayerNorm(embed_dims)
        self.mlp = CLIPMlp(embed_dims, mlp_ratio, act)

    def forward(self, x: Tensor, causal: bool = False) -> Tensor:
        x = x + self.attn(self.norm1(x), causal)
        return x + self.mlp(self.norm2(x))

    def reset_parameters(self, num_layers: int) -> None:
        """OpenAI CLIP's init: std D^-0.5 for qkv, scaled by depth for the
        output projections so the residual stream does not grow with depth."""
        width = self.attn.qkv.in_features
        proj_std = width**-0.5 * (2 * num_layers)**-0.5
        nn.init.normal_(self.attn.qkv.weight, std=width**-0.5)
        nn.init.normal_(self.attn.proj.weight, std=proj_std)
        nn.init.normal_(self.mlp.fc1.weight, std=(2 * width)**-0.5)
        nn.init.normal_(self.mlp.fc2.weight, std=proj_std)
        for lin in (self.attn.qkv, self.attn.proj, self.mlp.fc1,
                    self.mlp.fc2):
            nn.init.zeros_(lin.bias)
        for norm in (self.norm1, self.norm2):
            nn.init.ones_(norm.weight)
            nn.init.zeros_(norm.bias)
