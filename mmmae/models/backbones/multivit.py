"""MultiViT: the multi-modal ViT encoder of MultiMAE (Bachmann et al., 2022).

Faithful to the reference: one input adapter per modality (patch projection
plus a fixed sin-cos table, no modality embedding), one learned global token
appended after all modality tokens, pre-norm blocks with qkv bias and
LayerNorm eps 1e-6, and no final norm. Masking is not done here: the
pre-trainer masks the tokens of ``tokenize`` and calls ``forward_tokens``.
"""
import copy
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import trunc_normal_
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import (Attention, Block, TokenLayout, check_with_cp,
                      checkpoint_call)
from ..layers.token_readout import TokenReadout
from ..peft.base_peft import BasePEFT
from ..prompts.base_prompt import BasePrompt, PromptContext


def _default_adapters() -> dict:
    return dict(
        rgb=dict(type='PatchedInputAdapter', in_channels=3),
        depth=dict(type='PatchedInputAdapter', in_channels=1))


@MODELS.register_module()
class MultiViT(BaseModule):
    """Multi-modal ViT encoder with prompt hook points.

    Args:
        arch (str | dict): ``'tiny'``, ``'s'``, ``'b'``, ``'l'`` or a dict with
            ``embed_dims``, ``depth``, ``num_heads`` and ``mlp_ratio``.
        input_adapters (dict): modality name -> adapter config. The backbone
            fills in ``embed_dims``, ``patch_size``, ``image_size`` and
            ``name``. Defaults to rgb (3 ch) and depth (1 ch).
        patch_size (int): Patch side in pixels. Defaults to 16.
        img_size (int | tuple): Size of the stored position grids.
        num_global_tokens (int): Learned tokens appended at the end.
        drop_path_rate (float): Stochastic depth, linear over the blocks.
        out_indices (Sequence[int]): Blocks whose outputs ``forward`` returns
            (0-based, negatives count from the end). Defaults to the last.
        prompt (dict, optional): Config of a ``BasePrompt`` plugin.
        peft (dict, optional): Config of a ``BasePEFT`` weight-side method
            (LoRA, MTLoRA, BitFit, ...; see docs/peft.md). It may be
            combined with a prompt.
        default_modality (str, optional): The modality a plain tensor input
            is taken as, so that a stock mmseg ``EncoderDecoder`` or
            mmpretrain ``ImageClassifier`` can feed it its (B, 3, H, W) image
            batch. None: ``'rgb'`` when there is an rgb adapter, else the
            only adapter (a tensor input to a model with several and no rgb
            is an error).
        out_type (str): What ``forward`` returns per out index, as
            mmpretrain's ``VisionTransformer.out_type``:
            ``'featmap'`` (default) the (B, C, h, w) patch-token maps that
            mmseg heads read; ``'avg_featmap'`` the mean of the patch and
            global tokens then a LayerNorm (``fc_norm``), (B, D): the
            reference's classification pooling (``LinearOutputAdapter``
            with ``use_mean_pooling=True``); ``'global'`` (alias
            ``'cls_token'``) the last global token then ``fc_norm``, (B, D):
            the reference's ``use_mean_pooling=False``.
        frozen (bool): Freeze everything but the prompt, the peft method's
            parameters (and ``trainable_patterns``, the method's included);
            frozen parts stay in eval mode.
        trainable_patterns (Sequence[str]): Regexes of parameter names that
            stay trainable under ``frozen``, e.g. ``('norm',)`` for
            normalisation tuning or ``(r'\\.bias$',)`` for bias tuning.
        with_cp (bool): Activation checkpointing, as mmpretrain's
            ``with_cp``: in training with autograd on, each block (with the
            peft method's ``forward_block``; the prompt hook runs before it,
            outside) keeps only its input and recomputes the rest in the
            backward pass (non-reentrant ``torch.utils.checkpoint``). Same
            gradients, less memory, about one more forward of the blocks.
            Defaults to False.

    Shapes:
        inputs: {modality: (B, C_m, H, W)} (semseg: (B, H/4, W/4)), or one
        (B, C, H, W) tensor taken as ``{default_modality: tensor}``
        -> forward: tuple over ``out_indices`` of (B, C, H/P, W/P) (for
           ``out_type='featmap'``; (B, D) for the pooled types), the patch
           tokens read out by ``readout`` (default: averaged over the
           modalities present, C = D); prompt and global tokens are never
           part of it.
        -> forward_features: dict(tokens=[(B, N_prompt + N_patch + N_global,
           D)] per out index, layout=TokenLayout, aux_losses=dict)
    """

    OUT_TYPES = ('featmap', 'avg_featmap', 'global')
    _OUT_TYPE_ALIASES = {'cls_token': 'global'}

    arch_zoo = {
        'tiny': dict(embed_dims=32, depth=2, num_heads=2, mlp_ratio=4.),
        's': dict(embed_dims=384, depth=12, num_heads=6, mlp_ratio=4.),
        'b': dict(embed_dims=768, depth=12, num_heads=12, mlp_ratio=4.),
        'l': dict(embed_dims=1024, depth=24, num_heads=16, mlp_ratio=4.),
    }

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 input_adapters: Optional[dict] = None,
                 patch_size: int = 16,
                 img_size=224,
                 num_global_tokens: int = 1,
                 drop_rate: float = 0.,
                 attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.,
                 qkv_bias: bool = True,
                 out_indices: Sequence[int] = (-1, ),
                 prompt: Optional[dict] = None,
                 peft: Optional[dict] = None,
                 frozen: bool = False,
                 trainable_patterns: Sequence[str] = (),
                 default_modality: Optional[str] = None,
                 out_type: str = 'featmap',
                 with_cp: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise KeyError(f'Unknown MultiViT arch "{arch}"; choose one '
                               f'of {sorted(self.arch_zoo)} or pass a dict')
            arch = self.arch_zoo[arch]
        self.embed_dims = arch['embed_dims']
        self.num_layers = arch['depth']
        self.patch_size = patch_size

        adapters = input_adapters if input_adapters is not None \
            else _default_adapters()
        if not adapters:
            raise ValueError('MultiViT needs at least one input adapter')
        self.input_adapters = nn.ModuleDict()
        for name, cfg in adapters.items():
            cfg = copy.deepcopy(cfg)
            cfg.update(embed_dims=self.embed_dims, name=name)
            cfg.setdefault('patch_size', patch_size)
            cfg.setdefault('image_size', img_size)
            self.input_adapters[name] = MODELS.build(cfg)

        self.num_global_tokens = num_global_tokens
        self.global_tokens = nn.Parameter(
            torch.zeros(1, num_global_tokens, self.embed_dims))

        dpr = torch.linspace(0, drop_path_rate, self.num_layers).tolist()
        self.blocks = nn.ModuleList([
            Block(self.embed_dims, arch['num_heads'], arch['mlp_ratio'],
                  qkv_bias, drop_rate, attn_drop_rate, dpr[i])
            for i in range(self.num_layers)
        ])
        if with_cp:
            check_with_cp(f'MultiViT (depth={self.num_layers})',
                          len(self.blocks))
        self.with_cp = with_cp

        self.out_indices = []
        for i in out_indices:
            j = i + self.num_layers if i < 0 else i
            if not 0 <= j < self.num_layers:
                raise IndexError(f'out index {i} is outside the '
                                 f'{self.num_layers} blocks')
            self.out_indices.append(j)

        if default_modality is None:
            names = list(self.input_adapters)
            default_modality = 'rgb' if 'rgb' in names else (
                names[0] if len(names) == 1 else None)
        elif default_modality not in self.input_adapters:
            raise KeyError(f'MultiViT: default_modality "{default_modality}" '
                           'has no input adapter (it has '
                           f'{list(self.input_adapters)})')
        self.default_modality = default_modality
        out_type = self._OUT_TYPE_ALIASES.get(out_type, out_type)
        if out_type not in self.OUT_TYPES:
            raise ValueError(f'MultiViT: out_type "{out_type}" is not one of '
                             f'{self.OUT_TYPES + tuple(self._OUT_TYPE_ALIASES)}')
        self.out_type = out_type
        if out_type != 'featmap':
            # The reference's LinearOutputAdapter norm, applied after
            # pooling; it is part of the classifier, so no layer decay
            # below the last layer.
            self.fc_norm = nn.LayerNorm(self.embed_dims, eps=1e-6)

        self.prompt: Optional[BasePrompt] = None
        if prompt is not None:
            prompt = copy.deepcopy(prompt)
            prompt.update(embed_dims=self.embed_dims,
                          num_layers=self.num_layers)
            prompt.setdefault('patch_size', patch_size)
            self.prompt = MODELS.build(prompt)
            if not isinstance(self.prompt, BasePrompt):
                raise TypeError(f'prompt {type(self.prompt).__name__} must '
                                'subclass mmmae BasePrompt')

        self.peft: Optional[BasePEFT] = None
        if peft is not None:
            peft = copy.deepcopy(peft)
            peft.update(embed_dims=self.embed_dims,
                        num_layers=self.num_layers)
            self.peft = MODELS.build(peft)
            if not isinstance(self.peft, BasePEFT):
                raise TypeError(f'peft {type(self.peft).__name__} must '
                                'subclass mmmae BasePEFT')
            # After the blocks exist (its targets) and before freezing.
            self.peft.attach(self)

        self.frozen = frozen
        self.trainable_patterns = tuple(trainable_patterns)
        names = [n for n, _ in self.named_parameters()]
        unmatched = [p for p in self.trainable_patterns
                     if not any(re.search(p, n) for n in names)]
        if unmatched:
            # A pattern that matches nothing is a silent no-op otherwise.
            raise ValueError(f'MultiViT: trainable_patterns {unmatched} match '
                             'no parameter name (e.g. "blocks.0.norm1.weight",'
                             ' "blocks.0.attn.qkv.bias")')
        self._init_default()
        if frozen:
            self._freeze()

    # ------------------------------------------------------------------ init
    def _init_default(self) -> None:
        """MultiMAE's init: xavier-uniform linears (q, k, v as separate
        blocks), small normal tokens."""
        for name, m in self.named_modules():
            if name.startswith(self._PLUGINS):
                continue
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d) and name.startswith(
                    'input_adapters'):
                # Patch projections initialise like a linear layer.
                nn.init.xavier_uniform_(m.weight.view(m.weight.shape[0], -1))
                nn.init.zeros_(m.bias)
        for name, m in self.named_modules():
            # After the blanket xavier: the fused qkv is three D x D blocks.
            if isinstance(m, Attention) and not name.startswith(
                    self._PLUGINS):
                m.reset_parameters()
        trunc_normal_(self.global_tokens, std=0.02)

    def init_weights(self) -> None:
        self._init_default()
        super().init_weights()

    # ---------------------------------------------------------------- freeze
    # Plugin children: own initialisation, trainable, never put in eval.
    _PLUGINS = ('prompt', 'peft')

    def _is_trainable_when_frozen(self, name: str) -> bool:
        patterns = self.trainable_patterns
        if self.peft is not None:
            patterns = patterns + tuple(self.peft.trainable_patterns())
        return name.startswith(tuple(p + '.' for p in self._PLUGINS)) or any(
            re.search(p, name) for p in patterns)

    def _freeze(self) -> None:
        for name, param in self.named_parameters():
            param.requires_grad = self._is_trainable_when_frozen(name)
        for name, module in self.named_children():
            if name not in self._PLUGINS:
                module.eval()

    def train(self, mode: bool = True) -> 'MultiViT':
        super().train(mode)
        if self.frozen:
            self._freeze()
        return self

    # ------------------------------------------------------------- tokenize
    def _as_modalities(self, inputs: Union[Tensor, Dict[str, Tensor]]
                       ) -> Dict[str, Tensor]:
        """A plain (B, C, H, W) tensor (mmseg / mmpretrain models) is the
        ``default_modality``; a dict passes through."""
        if isinstance(inputs, Tensor):
            if inputs.dim() != 4:
                raise ValueError('MultiViT: a tensor input must be (B, C, H, '
                                 f'W), got shape {tuple(inputs.shape)}')
            if self.default_modality is None:
                raise ValueError(
                    'MultiViT got a plain tensor but has no rgb adapter and '
                    f'several others ({list(self.input_adapters)}): set '
                    'default_modality or pass {modality: tensor}')
            return {self.default_modality: inputs}
        if not isinstance(inputs, dict):
            raise TypeError('MultiViT expects a (B, C, H, W) tensor or a dict '
                            '{modality: tensor}, got '
                            f'{type(inputs).__name__}')
        return inputs

    def tokenize(self, inputs: Union[Tensor, Dict[str, Tensor]]
                 ) -> Tuple[Tensor, TokenLayout]:
        """Patch tokens of every modality present, then the global tokens.

        Returns:
            tuple: tokens (B, N_patch + N_global, D) and their layout.
        """
        inputs = self._as_modalities(inputs)
        if not inputs:
            raise ValueError('MultiViT got no input modality; expected a '
                             f'subset of {list(self.input_adapters)}')
        unknown = [k for k in inputs if k not in self.input_adapters]
        if unknown:
            raise KeyError(f'MultiViT was built for modalities '
                           f'{list(self.input_adapters)}, got {unknown}')
        tokens, grids = [], {}
        batch = None
        # Configured order, so a sequence never depends on dict order.
        for name in self.input_adapters:
            if name not in inputs:
                continue
            x, grid = self.input_adapters[name](inputs[name])
            if batch is not None and x.shape[0] != batch:
                raise ValueError(f'modality "{name}" has batch {x.shape[0]},'
                                 f' the others {batch}')
            batch = x.shape[0]
            tokens.append(x)
            grids[name] = grid
        layout = TokenLayout.build(grids, self.num_global_tokens)
        glob = self.global_tokens.expand(batch, -1, -1).to(tokens[0].dtype)
        return torch.cat(tokens + [glob], dim=1), layout

    # -------------------------------------------------------------- encoder
    def forward_tokens(self,
                       x: Tensor,
                       layout: TokenLayout,
                       ctx: Optional[PromptContext] = None,
                       return_indices: Optional[Sequence[int]] = None
                       ) -> Tuple[List[Tensor], TokenLayout]:
        """Run the blocks, calling the prompt hooks.

        Args:
            x (Tensor): (B, N, D) tokens laid out as ``layout``.
            ctx (PromptContext, optional): Needed when a prompt is set.
            return_indices (Sequence[int], optional): Blocks to return;
                defaults to ``out_indices``.

        Returns:
            tuple: per returned block (B, N', D) tokens (prompts included,
            and any per-task tokens the peft method's ``tap`` adds), and
            their layout.
        """
        return_indices = self.out_indices if return_indices is None \
            else list(return_indices)
        outs, out_layout = [], None
        # The backbone's own mode: a frozen backbone's blocks are in eval
        # mode while it trains its prompts.
        cp = self.with_cp and self.training
        for i, block in enumerate(self.blocks):
            if self.prompt is not None:
                x, layout = self.prompt.before_block(i, x, layout, ctx)
            if self.peft is None:
                x = checkpoint_call(cp, block, x)
            else:
                x = checkpoint_call(cp, self.peft.forward_block, i, block, x,
                                    layout, ctx)
            if i in return_indices:
                out, out_layout = (x, layout) if self.peft is None else \
                    self.peft.tap(i, x, layout, ctx)
                outs.append(out)
        return outs, layout if out_layout is None else out_layout

    def _make_context(self, inputs: Dict[str, Tensor], layout: TokenLayout,
                      batch: int, tasks) -> PromptContext:
        cache = {}

        def query_fn() -> Tensor:
            # The frozen model's own view of the input: no prompt, no grad.
            if 'q' not in cache:
                with torch.no_grad():
                    x, lay = self.tokenize(inputs)
                    for block in self.blocks:
                        x = block(x)
                    cache['q'] = x[:, lay.global_slice].mean(1)
            return cache['q']

        if isinstance(tasks, str):
            tasks = (tasks, )
        return PromptContext(batch, tuple(layout.modalities),
                             None if tasks is None else tuple(tasks),
                             query_fn)

    def forward_features(self, inputs: Union[Tensor, Dict[str, Tensor]],
                         tasks: Union[None, str, Sequence[str]] = None
                         ) -> dict:
        """Tokens at ``out_indices`` with their layout and prompt losses."""
        inputs = self._as_modalities(inputs)
        x, layout = self.tokenize(inputs)
        ctx = self._make_context(inputs, layout, x.shape[0], tasks)
        outs, layout = self.forward_tokens(x, layout, ctx)
        return dict(tokens=outs, layout=layout, aux_losses=ctx.losses)

    def tokens_to_maps(self, tokens: Sequence[Tensor], layout: TokenLayout,
                       task: Optional[str] = None,
                       readout: Optional[TokenReadout] = None
                       ) -> Tuple[Tensor, ...]:
        """Patch tokens (prompts stripped) read out as feature maps.

        Args:
            tokens (Sequence[Tensor]): (B, N, D) per tapped block.
            layout (TokenLayout): Their layout.
            task (str, optional): Handed to the prompt's readout hook.
            readout (TokenReadout, optional): Which modalities, merged how
                (see ``TokenReadout``). None averages every modality present.

        Returns:
            tuple: per token tensor, a (B, C, h, w) feature map.
        """
        readout = self._mean_readout if readout is None else readout
        maps = []
        for x in tokens:
            patch = x[:, layout.patch_slice]
            if self.prompt is not None:
                patch = self.prompt.readout(task, patch, x, layout)
            if self.peft is not None:
                patch = self.peft.readout(task, patch, x, layout)
            maps.append(readout(patch, layout))
        return tuple(maps)

    # A backbone on its own has no head to follow: average what is there.
    _mean_readout = TokenReadout(modalities=None, mode='mean')

    def tokens_to_vectors(self, tokens: Sequence[Tensor],
                          layout: TokenLayout) -> Tuple[Tensor, ...]:
        """Pooled (B, D) vectors of ``out_type`` 'avg_featmap' / 'global',
        after ``fc_norm``; prompt tokens are never pooled."""
        outs = []
        for x in tokens:
            glob = x[:, layout.global_slice]
            if self.out_type == 'avg_featmap':
                # The reference's use_mean_pooling averages every encoder
                # token: the patch tokens and the global token(s).
                pooled = torch.cat([x[:, layout.patch_slice], glob],
                                   dim=1).mean(1)
            else:
                pooled = glob[:, -1]
            outs.append(self.fc_norm(pooled))
        return tuple(outs)

    def forward(self, inputs: Union[Tensor, Dict[str, Tensor]],
                task: Optional[str] = None,
                readout: Optional[TokenReadout] = None) -> Tuple[Tensor, ...]:
        """Per out index: a (B, C, h, w) map (``out_type='featmap'``) or a
        pooled (B, D) vector; ``inputs`` may be a plain image tensor."""
        feats = self.forward_features(inputs, task)
        if self.out_type != 'featmap':
            return self.tokens_to_vectors(feats['tokens'], feats['layout'])
        return self.tokens_to_maps(feats['tokens'], feats['layout'], task,
                                   readout)

    # --------------------------------------------------------- optimisation
    def no_weight_decay(self) -> set:
        return {'global_tokens'}

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer id for layer-wise lr decay, as mmpretrain's ViT defines it.

        Returns:
            tuple: (layer id, number of layers); adapters and global tokens
            are layer 0, block i is i + 1, everything else the last.
        """
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name.startswith(('input_adapters', 'global_tokens')):
            return 0, num_layers
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers
