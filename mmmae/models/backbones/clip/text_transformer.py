"""CLIP text tower (Radford et al., ICML 2021), with prompt hook points.

Same computation as OpenAI's text encoder: token embedding plus learned
positions, causal pre-norm blocks, ``ln_final``, the feature at the
end-of-text token (the largest id, found by ``argmax``) and a linear
projection to the joint space.

Hook: before block i a prompt's ``before_text_block(i, x, task)`` may
rewrite the token embeddings (i == 0: CoOp's context vectors; i > 0:
MaPLe-style deep text prompts). Prompts sit right after the start token, so
causal attention lets the class name read them, as in CoOp.

For i == 0 the hook sees the word embeddings BEFORE the positional
embedding is added: CoOp and MaPLe (``TextEncoder.forward`` in both
reference repositories) concatenate ``[SOS, context, class tokens]`` and
then add the positions, so the context vectors get positions 1..n like the
words they replace. Deeper prompts (i > 0) enter the residual stream as
they are, without positions, as in MaPLe.
"""
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmmae.registry import MODELS
from ...layers import check_with_cp, checkpoint_call
from .act_check import check_incoming_act, record_act
from .layers import CLIPBlock, CLIPLayerNorm
from .shape_check import check_incoming_shapes


@MODELS.register_module()
class CLIPTextTransformer(BaseModule):
    """CLIP text encoder.

    Args:
        arch (str | dict): ``'b'`` (ViT-B CLIP: width 512, 12 layers, 8
            heads, context 77, vocabulary 49408, output 512), ``'l'``,
            ``'tiny'`` (tests: width 32, 2 layers, output 16) or a dict.
        act (str): MLP activation: ``'quick_gelu'`` for OpenAI weights,
            ``'gelu'`` for most open_clip weights. Loading a checkpoint that
            records another activation raises (see ``act_check.py``).
        with_cp (bool): Activation checkpointing of each block (the prompt
            hook runs before it, outside) whenever autograd records, as the
            image tower's. Defaults to False.
        init_cfg (dict, optional): mmengine init config.

    Shapes:
        token_ids: (N, context_length) long -> (N, E) text features
    """

    arch_zoo = {
        'b': dict(embed_dims=512, num_layers=12, num_heads=8,
                  context_length=77, vocab_size=49408, out_dims=512),
        'l': dict(embed_dims=768, num_layers=12, num_heads=12,
                  context_length=77, vocab_size=49408, out_dims=768),
        'tiny': dict(embed_dims=32, num_layers=2, num_heads=2,
                     context_length=77, vocab_size=49408, out_dims=16),
    }

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 act: str = 'quick_gelu',
                 with_cp: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise KeyError(f'Unknown CLIP text arch "{arch}"; choose '
                               f'one of {sorted(self.arch_zoo)} or a dict')
            self.arch = arch
            arch = self.arch_zoo[arch]
        else:
            self.arch = 'custom'
        self.embed_dims = arch['embed_dims']
        self.num_layers = arch['num_layers']
        self.context_length = arch['context_length']
        self.vocab_size = arch['vocab_size']
        self.out_dims = arch['out_dims']
        self.act = act

        D = self.embed_dims
        self.token_embed = nn.Embedding(self.vocab_size, D)
        self.pos_embed = nn.Parameter(torch.empty(self.context_length, D))
        self.blocks = nn.ModuleList([
            CLIPBlock(D, arch['num_heads'], arch.get('mlp_ratio', 4.), act)
            for _ in range(self.num_layers)
        ])
        if with_cp:
            check_with_cp(f'CLIPTextTransformer (arch {self.arch}, '
                          f'num_layers={self.num_layers})', len(self.blocks))
        self.with_cp = with_cp
        self.final_norm = CLIPLayerNorm(D)
        self.proj = nn.Parameter(torch.empty(D, self.out_dims))
        self._register_load_state_dict_pre_hook(self._check_state_dict)
        self._register_state_dict_hook(record_act)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """OpenAI CLIP's random init (tests; real runs load weights)."""
        nn.init.normal_(self.token_embed.weight, std=0.02)
        nn.init.normal_(self.pos_embed, std=0.01)
        nn.init.normal_(self.proj, std=self.embed_dims**-0.5)
        for block in self.blocks:
            block.reset_parameters(self.num_layers)

    def init_weights(self) -> None:
        if not (isinstance(self.init_cfg, dict)
                and self.init_cfg.get('type') == 'Pretrained'):
            self.reset_parameters()
        super().init_weights()

    def _check_state_dict(self, state_dict, prefix, local_metadata, *args,
                          **kwargs):
        check_incoming_act(self, local_metadata, prefix)
        check_incoming_shapes(self, state_dict, prefix, self.arch)

    def embed_tokens(self, token_ids: Tensor) -> Tensor:
        """Word embeddings without positions: (N, L) -> (N, L, D)."""
        if token_ids.dim() != 2 or token_ids.shape[1] != self.context_length:
            raise ValueError(
                'CLIPTextTransformer expects token ids of shape (N, '
                f'{self.context_length}), got {tuple(token_ids.shape)}')
        return self.token_embed(token_ids)

    def forward(self,
                token_ids: Tensor,
                prompt: Optional[nn.Module] = None,
                task: Optional[str] = None) -> Tensor:
        """Text features; ``prompt.before_text_block`` runs before each block.

        Args:
            token_ids (Tensor): (N, L) ids from :class:`CLIPTokenizer`.
            prompt (nn.Module, optional): A CLIP prompt learner.
            task (str, optional): Task whose prompts to use.
        """
        x = self.embed_tokens(token_ids)  # N L D
        for i, block in enumerate(self.blocks):
            if prompt is not None:
                x = prompt.before_text_block(i, x, task)
            if i == 0:
                # After the layer-0 prompts, so they get positions (CoOp).
                x = x + self.pos_embed
            x = checkpoint_call(self.with_cp, block, x, causal=True)
        x = self.final_norm(x)
        # The end-of-text token has the largest id in CLIP's vocabulary.
        eot = token_ids.argmax(dim=-1)
        x = x[torch.arange(x.shape[0], device=x.device), eot]  # N D
        return x @ self.proj
