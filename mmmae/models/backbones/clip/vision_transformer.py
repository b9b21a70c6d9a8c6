"""CLIP image tower (Radford et al., ICML 2021), with prompt hook points.

Same computation as OpenAI's ``VisionTransformer``: a bias-free patch
convolution, a class token, learned positions, ``ln_pre``, pre-norm blocks,
``ln_post`` on the class token and a linear projection to the joint space.

Two choices make it a member of mmmae's prompt family:

- the sequence is ``[prompts, patches, class]`` as a :class:`TokenLayout`
  (modality ``'rgb'``, one global token). OpenAI writes ``[class, patches]``;
  attention is permutation-equivariant and positions are added before any
  reordering, so the output is the same (a test compares with open_clip);
- a prompt's ``before_block(i, x, layout, ctx)`` runs before block i. For
  block 0 it runs before ``ln_pre``, as MaPLe appends its first visual
  prompts before ``ln_pre``; deeper prompts enter the residual stream.
"""
import math
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmmae.registry import MODELS
from ...layers import TokenLayout, check_with_cp, checkpoint_call
from ...prompts.base_prompt import BasePrompt, PromptContext
from .act_check import check_incoming_act, record_act
from .layers import CLIPBlock, CLIPLayerNorm
from .shape_check import check_incoming_shapes


@MODELS.register_module()
class CLIPVisionTransformer(BaseModule):
    """CLIP ViT image encoder.

    Args:
        arch (str | dict): ``'b16'`` (ViT-B/16: width 768, 12 layers, 12
            heads, patch 16, output 512), ``'l14'``, ``'tiny'`` (tests:
            width 48, 2 layers, patch 8, 32 px, output 16) or a dict with
            those keys.
        act (str): MLP activation: ``'quick_gelu'`` for OpenAI weights,
            ``'gelu'`` for most open_clip weights. Loading a checkpoint that
            records another activation raises (see ``act_check.py``).
        with_cp (bool): Activation checkpointing of each block (the prompt
            hook runs before it, outside) whenever autograd records: the
            tower is frozen in eval mode under prompt tuning, so its
            ``training`` flag does not say whether a backward follows.
            Defaults to False.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        img: (B, 3, H, W), H and W multiples of the patch size
        -> forward: (B, E) image features (not normalised)
        -> forward_tokens: (B, N_prompt + h*w + 1, D) tokens and layout
    """

    arch_zoo = {
        'b16': dict(embed_dims=768, num_layers=12, num_heads=12,
                    patch_size=16, img_size=224, out_dims=512),
        'l14': dict(embed_dims=1024, num_layers=24, num_heads=16,
                    patch_size=14, img_size=224, out_dims=768),
        'tiny': dict(embed_dims=48, num_layers=2, num_heads=2, patch_size=8,
                     img_size=32, out_dims=16),
    }

    def __init__(self,
                 arch: Union[str, dict] = 'b16',
                 act: str = 'quick_gelu',
                 with_cp: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise KeyError(f'Unknown CLIP vision arch "{arch}"; choose '
                               f'one of {sorted(self.arch_zoo)} or a dict')
            self.arch = arch
            arch = self.arch_zoo[arch]
        else:
            self.arch = 'custom'
        self.embed_dims = arch['embed_dims']
        self.num_layers = arch['num_layers']
        self.patch_size = arch['patch_size']
        self.out_dims = arch['out_dims']
        self.act = act
        grid = arch['img_size'] // self.patch_size
        self.grid_size = (grid, grid)

        D = self.embed_dims
        self.patch_embed = nn.Conv2d(3, D, self.patch_size, self.patch_size,
                                     bias=False)
        self.cls_token = nn.Parameter(torch.empty(D))
        # Row 0 is the class token's position, then the grid row-major.
        self.pos_embed = nn.Parameter(torch.empty(1 + grid * grid, D))
        self.pre_norm = CLIPLayerNorm(D)
        self.blocks = nn.ModuleList([
            CLIPBlock(D, arch['num_heads'], arch.get('mlp_ratio', 4.), act)
            for _ in range(self.num_layers)
        ])
        if with_cp:
            check_with_cp(f'CLIPVisionTransformer (arch {self.arch}, '
                          f'num_layers={self.num_layers})', len(self.blocks))
        self.with_cp = with_cp
        self.post_norm = CLIPLayerNorm(D)
        self.proj = nn.Parameter(torch.empty(D, self.out_dims))
        self._register_load_state_dict_pre_hook(self._prepare_state_dict)
        self._register_state_dict_hook(record_act)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """OpenAI CLIP's random init (tests; real runs load weights)."""
        scale = self.embed_dims**-0.5
        nn.init.normal_(self.cls_token, std=scale)
        nn.init.normal_(self.pos_embed, std=scale)
        nn.init.normal_(self.proj, std=scale)
        nn.init.kaiming_uniform_(self.patch_embed.weight, a=math.sqrt(5))
        for block in self.blocks:
            block.reset_parameters(self.num_layers)

    def init_weights(self) -> None:
        if not (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            self.reset_parameters()
        super().init_weights()

    # --------------------------------------------------------------- loading
    def _prepare_state_dict(self, state_dict, prefix, local_metadata, *args,
                            **kwargs):
        """Resize positions of another image size; refuse other widths and
        another activation."""
        check_incoming_act(self, local_metadata, prefix)
        key = prefix + 'pos_embed'
        if key in state_dict:
            pos = state_dict[key]
            if pos.shape[-1] == self.embed_dims and \
                    pos.shape[0] != self.pos_embed.shape[0]:
                state_dict[key] = self._resize_grid(pos, self.grid_size)
        check_incoming_shapes(self, state_dict, prefix, self.arch)

    @staticmethod
    def _resize_grid(pos: Tensor, grid_size: Tuple[int, int]) -> Tensor:
        """(1 + h*w, D) -> (1 + h'*w', D); square stored grids only."""
        side = math.isqrt(pos.shape[0] - 1)
        if side * side != pos.shape[0] - 1:
            raise ValueError(f'pos_embed with {pos.shape[0] - 1} grid '
                             'positions is not a square grid')
        if (side, side) == tuple(grid_size):
            return pos
        # 1 D h w -> bicubic -> h'w' D
        grid = pos[1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid.float(), size=grid_size, mode='bicubic',
                             align_corners=False).to(pos.dtype)
        grid = grid.flatten(2).transpose(1, 2)[0]
        return torch.cat([pos[:1], grid], dim=0)

    # --------------------------------------------------------------- forward
    def tokenize(self, img: Tensor) -> Tuple[Tensor, TokenLayout]:
        """Patch tokens then the class token, positions added.

        Returns:
            tuple: tokens (B, h*w + 1, D) (before ``ln_pre``) and layout.
        """
        if img.dim() != 4 or img.shape[1] != 3:
            raise ValueError('CLIPVisionTransformer expects images of shape '
                             f'(B, 3, H, W), got {tuple(img.shape)}')
        H, W = img.shape[-2:]
        if H % self.patch_size or W % self.patch_size:
            raise ValueError(f'image size {(H, W)} is not a multiple of the '
                             f'patch size {self.patch_size}')
        x = self.patch_embed(img)  # B D h w
        h, w = x.shape[-2:]
        x = x.flatten(2).transpose(1, 2)  # B hw D
        pos = self._resize_grid(self.pos_embed, (h, w)) \
            if (h, w) != self.grid_size else self.pos_embed
        x = x + pos[1:].to(x.dtype)
        cls = (self.cls_token + pos[0]).to(x.dtype).expand(x.shape[0], 1, -1)
        layout = TokenLayout.build({'rgb': (h, w)}, num_global=1)
        return torch.cat([x, cls], dim=1), layout

    def forward_tokens(self,
                       x: Tensor,
                       layout: TokenLayout,
                       prompt: Optional[BasePrompt] = None,
                       ctx: Optional[PromptContext] = None
                       ) -> Tuple[Tensor, TokenLayout]:
        """Run ``ln_pre`` and the blocks, calling the prompt hooks.

        Returns:
            tuple: last block's tokens (B, N', D) and their layout.
        """
        for i, block in enumerate(self.blocks):
            if prompt is not None:
                x, layout = prompt.before_block(i, x, layout, ctx)
            if i == 0:
                x = self.pre_norm(x)
            x = checkpoint_call(self.with_cp, block, x)
        return x, layout

    def forward(self,
                img: Tensor,
                prompt: Optional[BasePrompt] = None,
                ctx: Optional[PromptContext] = None) -> Tensor:
        x, layout = self.tokenize(img)
        x, layout = self.forward_tokens(x, layout, prompt, ctx)
        cls = x[:, layout.global_slice][:, 0]  # B D
        return self.post_norm(cls) @ self.proj
