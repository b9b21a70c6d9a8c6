"""Key mappings from public checkpoints to mmmae names (pure functions).

* Official MultiMAE (EPFL-VILAB/MultiMAE, weights under ``model``):
  ``global_tokens``, ``input_adapters.{m}.{proj.*, pos_emb, class_emb.*}``,
  ``encoder.{i}.*`` (timm block names) -> ``backbone.*``; the
  ``output_adapters.{t}.*`` are either the pre-training spatial decoders
  (-> ``decoders.{t}.*`` of ``MultiMAE``) or fine-tuned heads: a DPT
  (``DPTOutputAdapter``, regression) -> ``decode_heads.{t}.*`` of a
  ``MultiMAEDPTHead``, a ``ConvNeXtAdapter`` -> ``decode_heads.{t}.*`` of a
  ``ConvNeXtHead`` (``MultiTaskSegmentor`` names).
* timm / MAE ViT (``cls_token``, ``pos_embed``, ``patch_embed.proj.*``,
  ``blocks.{i}.*``) -> ``backbone.*`` with the patch projection as the rgb
  adapter and the class token as the global token.

Each ``map_*_key`` returns None for keys mmmae has no place for.
``convert_multimae`` refuses to drop any: it raises naming them. The only
keys it skips are the reference DPT's ``scratch.refinenet4.resConfUnit1.*``,
a residual unit the reference builds but never calls (its deepest fusion
block gets no skip input), listed by ``unused_multimae_keys``.
"""
import math
import re
from collections import OrderedDict
from typing import Dict, List, Optional

import torch
from torch import Tensor

__all__ = [
    'map_multimae_key', 'convert_multimae', 'unused_multimae_keys',
    'map_vit_key', 'convert_vit', 'detect_checkpoint_format',
    'unwrap_state_dict'
]

# Official output-adapter attribute -> SpatialCrossAttentionDecoder's.
_DECODER_RENAMES = [
    (re.compile(r'^decoder\.'), 'cross_attn.'),
    (re.compile(r'^decoder_transformer\.(\d+)\.'), r'blocks.\1.'),
    (re.compile(r'^pos_emb$'), 'pos_embed'),
]
_DECODER_SAME = ('proj_context.', 'task_embeddings.', 'mask_token',
                 'query_norm.', 'context_norm.', 'out_norm.', 'mlp.',
                 'out_proj.')

# Fine-tuned DPT (DPTOutputAdapter) attribute -> MultiMAEDPTHead's. The reference
# registers the reassemble and 3x3 convs twice, so its state dict holds
# both names: ``act_{i}_postprocess`` is ``act_postprocess.{i-1}`` and
# ``scratch.layer{i}_rn`` is ``scratch.layer_rn.{i-1}``; the aliases are
# read as the second form. Its refinenet4 is the deepest fusion block
# (MultiMAEDPTHead's fusion_blocks.0).
_DPT_ALIASES = [
    (re.compile(r'^act_(\d)_postprocess\.'),
     lambda m: f'act_postprocess.{int(m[1]) - 1}.'),
    (re.compile(r'^scratch\.layer(\d)_rn\.'),
     lambda m: f'scratch.layer_rn.{int(m[1]) - 1}.'),
]
_DPT_RENAMES = [
    (re.compile(r'^act_postprocess\.(\d)\.0\.'),
     lambda m: f'reassemble_blocks.projects.{m[1]}.conv.'),
    (re.compile(r'^act_postprocess\.(\d)\.1\.'),
     lambda m: f'reassemble_blocks.resize_layers.{m[1]}.'),
    (re.compile(r'^scratch\.layer_rn\.(\d)\.'), lambda m: f'convs.{m[1]}.'),
    (re.compile(r'^scratch\.refinenet(\d)\.out_conv\.'),
     lambda m: f'fusion_blocks.{4 - int(m[1])}.project.conv.'),
    (re.compile(r'^scratch\.refinenet(\d)\.resConfUnit(\d)\.'
                r'(conv|bn)(\d)\.'),
     lambda m: f'fusion_blocks.{4 - int(m[1])}.res_conv_unit{m[2]}.'
     f'conv{m[4]}.{"conv" if m[3] == "conv" else "bn"}.'),
    (re.compile(r'^head\.(0|2|4)\.'), lambda m: f'conv_depth.{m[1]}.'),
]
# Built by the reference, never called: no skip map reaches refinenet4.
_DPT_UNUSED = re.compile(r'^scratch\.refinenet4\.resConfUnit1\.')

# Fine-tuned ConvNeXtAdapter attribute -> ConvNeXtHead's (mmpretrain's
# ConvNeXtBlock names, mmseg's conv_seg classifier).
_CONVNEXT_RENAMES = [
    (re.compile(r'^proj_dec\.'), lambda m: 'proj_dec.'),
    (re.compile(r'^blocks\.(\d+)\.dwconv\.'),
     lambda m: f'blocks.{m[1]}.depthwise_conv.'),
    (re.compile(r'^blocks\.(\d+)\.pwconv(\d)\.'),
     lambda m: f'blocks.{m[1]}.pointwise_conv{m[2]}.'),
    (re.compile(r'^blocks\.(\d+)\.(norm\.|gamma$)'),
     lambda m: f'blocks.{m[1]}.{m[2]}'),
    (re.compile(r'^final_layer\.'), lambda m: 'conv_seg.'),
]


def unwrap_state_dict(checkpoint) -> Dict[str, Tensor]:
    """The weights of a loaded checkpoint: under ``model`` (MultiMAE, MAE),
    ``state_dict`` (mmengine) or ``module`` (DeepSpeed), else itself."""
    if not isinstance(checkpoint, dict):
        raise TypeError('a checkpoint must be a dict of tensors, got '
                        f'{type(checkpoint).__name__}')
    for key in ('model', 'state_dict', 'module'):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            return checkpoint[key]
    return checkpoint


def detect_checkpoint_format(state_dict: Dict[str, Tensor]) -> str:
    """``'multimae'``, ``'vit'`` (timm / MAE) or ``'mmmae'``.

    Raises:
        ValueError: naming a few keys when none of the formats fits.
    """
    keys = list(state_dict)
    if any(k.startswith(('encoder.', 'input_adapters.')) for k in keys):
        return 'multimae'
    if any(k.startswith('patch_embed.') for k in keys):
        return 'vit'
    if any(k.startswith(('backbone.', 'decoders.')) for k in keys):
        return 'mmmae'
    raise ValueError(
        'the checkpoint is neither an official MultiMAE (encoder.*, '
        'input_adapters.*), a timm/MAE ViT (patch_embed.*, blocks.*) nor an '
        f'mmmae (backbone.*) checkpoint; its first keys are {keys[:6]}')


def map_multimae_key(key: str) -> Optional[str]:
    """mmmae name of an official MultiMAE key, or None if it has none."""
    if key == 'global_tokens':
        return 'backbone.global_tokens'
    m = re.match(r'^encoder\.(\d+)\.(.+)$', key)
    if m:
        return f'backbone.blocks.{m.group(1)}.{m.group(2)}'
    m = re.match(r'^input_adapters\.(\w+)\.(.+)$', key)
    if m:
        rest = 'pos_embed' if m.group(2) == 'pos_emb' else m.group(2)
        if rest in ('pos_embed', 'proj.weight', 'proj.bias',
                    'class_emb.weight'):
            return f'backbone.input_adapters.{m.group(1)}.{rest}'
        return None
    m = re.match(r'^output_adapters\.(\w+)\.(.+)$', key)
    if m:
        task, rest = m.groups()
        for pattern, repl in _DECODER_RENAMES:
            if pattern.match(rest):
                return f'decoders.{task}.{pattern.sub(repl, rest)}'
        if rest.startswith(_DECODER_SAME):
            return f'decoders.{task}.{rest}'
        for pattern, repl in _DPT_ALIASES:
            rest = pattern.sub(repl, rest)
        for pattern, repl in _DPT_RENAMES + _CONVNEXT_RENAMES:
            hit = pattern.match(rest)
            if hit:
                return (f'decode_heads.{task}.{repl(hit)}'
                        f'{rest[hit.end():]}')
    return None


def _is_unused(key: str) -> bool:
    m = re.match(r'^output_adapters\.\w+\.(.+)$', key)
    return bool(m and _DPT_UNUSED.match(m.group(1)))


def unused_multimae_keys(state_dict: Dict[str, Tensor]) -> List[str]:
    """Keys of reference weights that the reference's forward never uses
    (``scratch.refinenet4.resConfUnit1.*`` of a DPT head); the converter
    skips them."""
    return [k for k in state_dict if _is_unused(k)]


def convert_multimae(state_dict: Dict[str, Tensor],
                     add_ignore_row: bool = True) -> 'OrderedDict':
    """Official MultiMAE weights -> mmmae ``MultiMAE`` weights.

    Args:
        state_dict (dict): The official weights (``checkpoint['model']``).
        add_ignore_row (bool): Append a zero row to the semseg class table
            for the ignore label (mmmae's ``SemSegInputAdapter`` always has
            ``num_classes + 1`` rows; the official pre-trained table has
            ``num_classes``). Zero, like an ``nn.Embedding`` padding row:
            unlabelled pixels carry no class information. Turn it off for a
            table that already has the row.

    Returns:
        OrderedDict: converted weights, every key mapped (the reference's
        aliases of one tensor become one key).

    Raises:
        ValueError: naming the keys without an mmmae place (e.g. heads of
            another kind, or adapter options mmmae does not build), or
            aliases whose tensors differ.
    """
    out, source = OrderedDict(), {}
    unmapped = []
    for key, value in state_dict.items():
        if _is_unused(key):
            continue
        new = map_multimae_key(key)
        if new is None:
            unmapped.append(key)
            continue
        if new.endswith('class_emb.weight') and add_ignore_row:
            value = torch.cat([value, value.new_zeros(1, value.shape[1])])
        if new in out:
            if not torch.equal(out[new], value):
                raise ValueError(f'{source[new]} and {key} both map to {new}'
                                 ' but hold different tensors')
            continue
        out[new], source[new] = value, key
    if unmapped:
        more = f' ... and {len(unmapped) - 20} more' \
            if len(unmapped) > 20 else ''
        raise ValueError(
            f'{len(unmapped)} keys of the MultiMAE checkpoint have no mmmae '
            f'place and would be dropped: {unmapped[:20]}{more}')
    return out


def map_vit_key(key: str) -> Optional[str]:
    """mmmae name of a timm / MAE ViT key, or None (final norm, heads, MAE's
    decoder and mask token, which MultiViT does not have)."""
    if key == 'cls_token':
        return 'backbone.global_tokens'
    if key == 'pos_embed':
        return 'backbone.input_adapters.rgb.pos_embed'
    if key.startswith('patch_embed.proj.'):
        return 'backbone.input_adapters.rgb.proj.' + key.split('.')[-1]
    m = re.match(r'^blocks\.(\d+)\.((norm1|norm2|attn\.qkv|attn\.proj|'
                 r'mlp\.fc1|mlp\.fc2)\.(weight|bias))$', key)
    if m:
        return f'backbone.blocks.{m.group(1)}.{m.group(2)}'
    return None


def _vit_pos_to_grid(pos: Tensor, has_cls: bool) -> Tensor:
    """(1, [1 +] h*w, D) learned table -> (1, D, h, w), class slot dropped."""
    if pos.dim() != 3:
        raise ValueError(f'pos_embed: expected (1, N, D), got '
                         f'{tuple(pos.shape)}')
    if has_cls:
        pos = pos[:, 1:]
    n = pos.shape[1]
    side = math.isqrt(n)
    if side * side != n:
        raise ValueError(f'pos_embed: {n} patch positions do not form a '
                         'square grid')
    return pos.transpose(1, 2).reshape(1, pos.shape[2], side, side)


def convert_vit(state_dict: Dict[str, Tensor]) -> 'OrderedDict':
    """timm / MAE ViT weights -> mmmae ``MultiViT`` weights (``backbone.*``).

    The patch projection and the learned positions become the rgb adapter's
    (the class-token position is dropped), the class token becomes the
    global token; the final norm and classification or MAE-decoder weights
    have no place in MultiViT (it has no final norm) and are left out
    (``map_vit_key`` returns None for them).
    """
    has_cls = 'cls_token' in state_dict
    out = OrderedDict()
    for key, value in state_dict.items():
        new = map_vit_key(key)
        if new is None:
            continue
        if key == 'pos_embed':
            value = _vit_pos_to_grid(value, has_cls)
        out[new] = value
    return out
