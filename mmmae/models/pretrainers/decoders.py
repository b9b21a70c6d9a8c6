"""MultiMAE's per-task spatial decoder (Bachmann et al., ECCV 2022).

Faithful to the reference output adapter: encoder tokens are projected to a
narrow width (256), mask tokens fill the hidden positions, every token gets
the learned embedding of its modality plus the decoder's own fixed sin-cos
position; the task's tokens (visible ones and mask tokens) are the queries of
one cross-attention to the visible tokens plus the global token(s), followed
by ``x + mlp(norm(x))`` (the cross-attention itself has no residual, as in
the reference), then self-attention blocks and a linear layer to the pixels
of each patch. A label map (semseg) is predicted as ``num_classes`` logits per
pixel at its own resolution (``stride_level`` 4: a 4x4 patch of the quarter-
resolution map per token).

Attribute names follow the reference so that its checkpoints convert 1:1
(``tools/model_converters/multimae2mmmae.py``).
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import (Attention, Block, CrossAttention, LayerNorm, Mlp,
                      TokenLayout, build_2d_sincos_pos_embed, resize_pos_embed)


@MODELS.register_module()
class SpatialCrossAttentionDecoder(BaseModule):
    """Reconstructs one modality from the visible encoder tokens.

    Args:
        task (str): Modality whose token positions are the queries and whose
            grid is predicted (``'rgb'`` for both the rgb and the norm-pix
            rgb decoders).
        out_channels (int): Channels C per output pixel: 3 (rgb), 1 (depth),
            or the number of classes (semseg logits).
        in_dims (int): Width D of the encoder tokens; MultiMAE fills it in.
        context_modalities (Sequence[str]): Modalities the encoder may see;
            each gets a learned embedding. MultiMAE fills it in.
        embed_dims (int): Decoder width. Defaults to 256.
        depth (int): Self-attention blocks after the cross-attention.
            Defaults to 2.
        num_heads (int): Attention heads. Defaults to 8.
        mlp_ratio (float): MLP hidden width over ``embed_dims``.
        qkv_bias (bool): Bias on q, kv and qkv projections.
        drop_rate (float): Dropout after projections.
        attn_drop_rate (float): Attention dropout.
        drop_path_rate (float): Stochastic depth over the blocks.
        patch_size (int): Token patch side in full-resolution pixels.
        stride_level (int): Downsampling of the predicted map (4 for semseg
            at quarter resolution); each token predicts a
            ``patch_size / stride_level`` square.
        image_size (int | tuple): Full-resolution size of the stored position
            grid; other sizes are served by resizing it.
        force_fp32 (bool): Run in fp32 under AMP (the reference does so for
            semseg logits).

    Shapes:
        tokens: (B, K + G, D), the encoder output for the K visible tokens in
            ``ids_keep`` order, then the G global tokens
        ids_keep: (B, K), ids_restore: (B, N) over the N patch tokens of
            ``layout`` (a layout without prompts)
        -> (B, C, h * p, w * p) with (h, w) the task's token grid and
           p = patch_size / stride_level, i.e. (B, C, H / s, W / s)
    """

    def __init__(self,
                 task: str,
                 out_channels: int,
                 in_dims: int,
                 context_modalities: Sequence[str],
                 embed_dims: int = 256,
                 depth: int = 2,
                 num_heads: int = 8,
                 mlp_ratio: float = 4.,
                 qkv_bias: bool = True,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 patch_size: int = 16,
                 stride_level: int = 1,
                 image_size=224,
                 force_fp32: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if patch_size % stride_level:
            raise ValueError(f'decoder "{task}": patch_size={patch_size} is '
                             f'not divisible by stride_level={stride_level}')
        self.task = task
        self.out_channels = out_channels
        self.embed_dims = embed_dims
        self.patch_size = patch_size
        self.stride_level = stride_level
        self.out_patch = patch_size // stride_level
        self.force_fp32 = force_fp32

        self.proj_context = nn.Linear(in_dims, embed_dims)
        self.task_embeddings = nn.ParameterDict({
            m: nn.Parameter(torch.zeros(1, 1, embed_dims))
            for m in context_modalities
        })
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        image_size = (image_size, image_size) if isinstance(
            image_size, int) else tuple(image_size)
        grid = (image_size[0] // patch_size, image_size[1] // patch_size)
        # Fixed, persistent like the reference's frozen parameter.
        self.register_buffer('pos_embed',
                             build_2d_sincos_pos_embed(embed_dims, grid))
        self._register_load_state_dict_pre_hook(self._resize_loaded_pos_embed)

        self.query_norm = LayerNorm(embed_dims)
        self.context_norm = LayerNorm(embed_dims)
        self.cross_attn = CrossAttention(embed_dims, num_heads, qkv_bias,
                                         attn_drop_rate, drop_rate)
        self.out_norm = LayerNorm(embed_dims)
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio), drop=drop_rate)
        dpr = torch.linspace(0, drop_path_rate, max(depth, 1)).tolist()
        self.blocks = nn.ModuleList([
            Block(embed_dims, num_heads, mlp_ratio, qkv_bias, drop_rate,
                  attn_drop_rate, dpr[i]) for i in range(depth)
        ])
        self.out_proj = nn.Linear(embed_dims,
                                  out_channels * self.out_patch**2)
        self._init_default()

    def _init_default(self) -> None:
        """The reference's init: xavier linears (q, k, v as separate
        blocks), a zero mask token, small normal modality embeddings."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, (Attention, CrossAttention)):
                m.reset_parameters()
        nn.init.zeros_(self.mask_token)
        for emb in self.task_embeddings.values():
            trunc_normal_(emb, std=0.02)

    def init_weights(self) -> None:
        self._init_default()
        super().init_weights()

    def _resize_loaded_pos_embed(self, state_dict, prefix, *args, **kwargs):
        key = prefix + 'pos_embed'
        loaded = state_dict.get(key)
        if loaded is None or loaded.shape == self.pos_embed.shape:
            return
        if loaded.dim() != 4 or loaded.shape[:2] != self.pos_embed.shape[:2]:
            raise ValueError(
                f'{key}: checkpoint shape {tuple(loaded.shape)} does not fit '
                f'the model shape {tuple(self.pos_embed.shape)}')
        state_dict[key] = resize_pos_embed(loaded, self.pos_embed.shape[-2:],
                                           'bilinear')

    def no_weight_decay(self) -> set:
        return {'mask_token', 'task_embeddings'}

    # ------------------------------------------------------------- helpers
    def _positions(self, grid: Tuple[int, int], dtype) -> Tensor:
        pos = resize_pos_embed(self.pos_embed, grid, 'bilinear')
        return pos.flatten(2).transpose(1, 2).to(dtype)  # 1 hw E

    def _modality_embedding(self, name: str, grid: Tuple[int, int],
                            dtype) -> Tensor:
        if name not in self.task_embeddings:
            raise KeyError(
                f'decoder "{self.task}" has no embedding for modality '
                f'"{name}"; it was built for {list(self.task_embeddings)}')
        return self.task_embeddings[name].to(dtype) + self._positions(
            grid, dtype)  # 1 hw E

    def _queries_and_context(self, x: Tensor, layout: TokenLayout,
                             ids_keep: Tensor, ids_restore: Tensor
                             ) -> Tuple[Tensor, Tensor, Tuple[int, int]]:
        B, _, E = x.shape
        K, N, G = ids_keep.shape[1], ids_restore.shape[1], layout.num_global
        if layout.num_prompt:
            raise ValueError('the MultiMAE decoder takes a layout without '
                             f'prompt tokens, got {layout.prompts}')
        if N != layout.num_patch or x.shape[1] != K + G:
            raise ValueError(
                f'decoder "{self.task}": got {x.shape[1]} encoder tokens, '
                f'{K} kept and {N} patch tokens in all; expected K + G = '
                f'{K + G} tokens and N = {layout.num_patch}')
        visible, glob = x[:, :K], x[:, K:]
        full = torch.cat([visible, self.mask_token.to(x.dtype).expand(
            B, N - K, -1)], dim=1)
        # Back to layout order: B N E
        full = torch.gather(full, 1, ids_restore[..., None].expand(-1, -1, E))
        full = full + torch.cat([
            self._modality_embedding(m, layout.grids[m], x.dtype)
            for m in layout.modalities
        ], dim=1)

        if self.task in layout.modalities:
            grid = layout.grids[self.task]
            queries = full[:, layout.modalities[self.task]]
        else:
            # The task is predicted but not encoded: queries are mask tokens.
            grid = next(iter(layout.grids.values()))
            queries = self.mask_token.to(x.dtype) + self._positions(
                grid, x.dtype)
            if self.task in self.task_embeddings:
                queries = queries + self.task_embeddings[self.task].to(
                    x.dtype)
            queries = queries.expand(B, -1, -1)
        context = torch.gather(full, 1, ids_keep[..., None].expand(-1, -1, E))
        return queries, torch.cat([context, glob], dim=1), grid

    # ------------------------------------------------------------- forward
    def forward(self, tokens: Tensor, layout: TokenLayout, ids_keep: Tensor,
                ids_restore: Tensor) -> Tensor:
        if not self.force_fp32:
            return self._forward(tokens, layout, ids_keep, ids_restore)
        with torch.autocast(tokens.device.type, enabled=False):
            return self._forward(tokens.float(), layout, ids_keep,
                                 ids_restore)

    def _forward(self, tokens: Tensor, layout: TokenLayout, ids_keep: Tensor,
                 ids_restore: Tensor) -> Tensor:
        x = self.proj_context(tokens)  # B (K+G) E
        queries, context, (h, w) = self._queries_and_context(
            x, layout, ids_keep, ids_restore)
        x = self.cross_attn(self.query_norm(queries),
                            self.context_norm(context))
        x = x + self.mlp(self.out_norm(x))
        for block in self.blocks:
            x = block(x)
        x = self.out_proj(x)  # B hw (C p p)
        B, p, C = x.shape[0], self.out_patch, self.out_channels
        # B (h w) (C p p) -> B C (h p) (w p), the reference's channel order
        x = x.reshape(B, h, w, C, p, p).permute(0, 3, 1, 4, 2, 5)
        return x.reshape(B, C, h * p, w * p)
