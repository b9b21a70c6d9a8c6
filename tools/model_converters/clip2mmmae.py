"""Convert an OpenAI / open_clip CLIP ViT checkpoint to mmmae's names.

Reads a file the user already has; never downloads:

- OpenAI's ``ViT-B-16.pt`` (a TorchScript archive, loaded with
  ``torch.jit.load``, which runs no pickled Python) or an OpenAI state dict;
- an open_clip state dict (``.bin``/``.pt``/``.pth``, loaded with
  ``weights_only=True``; or ``.safetensors``).

Output (written atomically): ``{'state_dict': ..., 'meta': ...}`` with the
keys of ``MultiTaskCLIPClassifier`` (``vision_encoder.*``,
``text_encoder.*``, ``logit_scale``), checked against the towers built
from ``--vision-arch`` / ``--text-arch``: a checkpoint of another width
fails naming the key and both shapes. Load it with
``init_cfg=dict(type='Pretrained', checkpoint=OUT)`` on the classifier.

The MLP activation is recorded in ``meta['act']`` (and ``meta['act_from']``)
and in the state dict's per-tower metadata, which the towers check when
loading (``mmmae/models/backbones/clip/act_check.py``): OpenAI weights use
QuickGELU (``quick_gelu``), most open_clip weights GELU (``gelu``), and the
tensors do not tell them apart. It is read from the source where the
format says it:

- a TorchScript archive (OpenAI's ``.pt``): the activation modules its code
  names (``QuickGELU`` / ``GELU``);
- an ``open_clip_config.json`` next to the file (open_clip's hub layout):
  ``model_cfg.quick_gelu``.

Otherwise ``--act`` is required; an ``--act`` that contradicts the source is
an error naming both.

    python tools/model_converters/clip2mmmae.py ViT-B-16.pt \
        checkpoints/clip_vit-b16_openai.pth --vision-arch b16 --text-arch b
    python tools/model_converters/clip2mmmae.py open_clip_pytorch_model.bin \
        checkpoints/clip_vit-b16_laion2b.pth --act gelu
"""
import argparse
import json
import os.path as osp
import re
import zipfile
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import torch
from torch import Tensor

ACTS = ('quick_gelu', 'gelu')

# Entries that are no weights: plain ints of OpenAI archives, and causal
# masks that TorchScript archives store (the text tower builds its own).
_SKIP = ('input_resolution', 'context_length', 'vocab_size', 'attn_mask')

# OpenAI / open_clip block names -> mmmae's (models/backbones/clip/layers.py)
_BLOCK = [
    ('ln_1.', 'norm1.'),
    ('attn.in_proj_weight', 'attn.qkv.weight'),
    ('attn.in_proj_bias', 'attn.qkv.bias'),
    ('attn.out_proj.', 'attn.proj.'),
    ('ln_2.', 'norm2.'),
    ('mlp.c_fc.', 'mlp.fc1.'),
    ('mlp.c_proj.', 'mlp.fc2.'),
]

_TOP = {
    'visual.conv1.weight': 'vision_encoder.patch_embed.weight',
    'visual.class_embedding': 'vision_encoder.cls_token',
    'visual.positional_embedding': 'vision_encoder.pos_embed',
    'visual.proj': 'vision_encoder.proj',
    'token_embedding.weight': 'text_encoder.token_embed.weight',
    'positional_embedding': 'text_encoder.pos_embed',
    'text_projection': 'text_encoder.proj',
    'logit_scale': 'logit_scale',
}
_NORMS = {
    'visual.ln_pre.': 'vision_encoder.pre_norm.',
    'visual.ln_post.': 'vision_encoder.post_norm.',
    'ln_final.': 'text_encoder.final_norm.',
}
_BLOCKS = [
    (re.compile(r'^visual\.transformer\.resblocks\.(\d+)\.(.+)$'),
     'vision_encoder.blocks.{}.{}'),
    (re.compile(r'^transformer\.resblocks\.(\d+)\.(.+)$'),
     'text_encoder.blocks.{}.{}'),
]


def _rename_block_part(rest: str, key: str) -> str:
    for old, new in _BLOCK:
        if rest.startswith(old):
            return new + rest[len(old):]
    raise KeyError(f'unknown CLIP block parameter "{key}"')


def convert_clip_state_dict(state_dict: Dict[str, Tensor]
                            ) -> 'OrderedDict[str, Tensor]':
    """Map OpenAI / open_clip keys to mmmae's; a pure function.

    Raises:
        KeyError: a key that belongs to no ViT CLIP (e.g. the ModifiedResNet
            of RN50 CLIP, or timm towers), named in the message.
    """
    out = OrderedDict()
    for key, value in state_dict.items():
        for prefix in ('module.', 'model.'):
            if key.startswith(prefix):
                key = key[len(prefix):]
        if key in _SKIP or key.endswith('.attn_mask'):
            continue
        if key in _TOP:
            out[_TOP[key]] = value
            continue
        norm = next((p for p in _NORMS if key.startswith(p)), None)
        if norm is not None:
            out[_NORMS[norm] + key[len(norm):]] = value
            continue
        for pattern, template in _BLOCKS:
            m = pattern.match(key)
            if m:
                out[template.format(m.group(1),
                                    _rename_block_part(m.group(2), key))] = \
                    value
                break
        else:
            raise KeyError(
                f'CLIP checkpoint key "{key}" is not part of a ViT CLIP '
                '(OpenAI / open_clip naming); only ViT image towers are '
                'supported')
    return out


def _is_torchscript(path: str) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return any(n.endswith('constants.pkl') or '/code/' in n
                   for n in zf.namelist())


def load_clip_file(path: str) -> Dict[str, Tensor]:
    """Read a CLIP checkpoint from disk into a (source-named) state dict."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'CLIP checkpoint not found: {path}')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    if _is_torchscript(path):
        return {k: v for k, v in
                torch.jit.load(path, map_location='cpu').state_dict().items()}
    from mmmae.utils import load_checkpoint_file
    ckpt = load_checkpoint_file(path, map_location='cpu')
    if isinstance(ckpt, dict) and 'state_dict' in ckpt:
        ckpt = ckpt['state_dict']
    if not isinstance(ckpt, dict):
        raise TypeError(f'{path} holds a {type(ckpt).__name__}, not a '
                        'state dict')
    return ckpt


def _torchscript_act(path: str) -> Optional[str]:
    """The activation the archive's code names, if exactly one kind."""
    found = set()
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if not name.endswith('.py'):
                continue
            code = zf.read(name).decode('utf-8', errors='replace')
            if re.search(r'\bQuickGELU\b', code):
                found.add('quick_gelu')
            if re.search(r'\.GELU\b|torch\.gelu\(', code):
                found.add('gelu')
    return found.pop() if len(found) == 1 else None


def source_act(path: str) -> Tuple[Optional[str], str]:
    """``(activation or None, where it was read)`` for a CLIP file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'CLIP checkpoint not found: {path}')
    if _is_torchscript(path):
        act = _torchscript_act(path)
        if act is not None:
            return act, f'TorchScript code of {osp.basename(path)}'
    cfg_path = osp.join(osp.dirname(osp.abspath(path)),
                        'open_clip_config.json')
    if osp.isfile(cfg_path):
        with open(cfg_path) as f:
            cfg = json.load(f)
        model_cfg = cfg.get('model_cfg') if isinstance(cfg, dict) else None
        if not isinstance(model_cfg, dict):
            raise ValueError(f'{cfg_path} has no "model_cfg" mapping')
        act = 'quick_gelu' if model_cfg.get('quick_gelu', False) else 'gelu'
        return act, f'{cfg_path} (model_cfg.quick_gelu)'
    return None, ''


def resolve_act(path: str, act: Optional[str] = None) -> Tuple[str, str]:
    """The activation to record: the source's, checked against ``act``."""
    if act is not None and act not in ACTS:
        raise ValueError(f'--act {act!r}: choose one of {list(ACTS)}')
    found, where = source_act(path)
    if found is None:
        if act is None:
            raise ValueError(
                f'cannot tell the MLP activation of {path} from its format; '
                'pass --act quick_gelu (OpenAI weights, open_clip '
                '"-quickgelu" models) or --act gelu (most other open_clip '
                'weights)')
        return act, '--act'
    if act is not None and act != found:
        raise ValueError(f'--act {act} contradicts {where}, which says '
                         f'{found}; drop --act or fix it')
    return found, where


def check_against_towers(state_dict: Dict[str, Tensor],
                         vision_arch: str = 'b16',
                         text_arch: str = 'b') -> None:
    """Raise naming each key whose shape differs from the towers of
    ``vision_arch`` / ``text_arch``, and each key missing from the file."""
    from mmmae.models.backbones.clip import (CLIPTextTransformer,
                                             CLIPVisionTransformer)
    expected = {'logit_scale': torch.Size([])}
    for prefix, tower in (('vision_encoder.',
                           CLIPVisionTransformer(vision_arch)),
                          ('text_encoder.', CLIPTextTransformer(text_arch))):
        expected.update({prefix + k: v.shape
                         for k, v in tower.state_dict().items()})
    bad = [f'{k}: checkpoint {tuple(v.shape)} vs model '
           f'{tuple(expected[k])}' for k, v in state_dict.items()
           if k in expected and v.shape != expected[k]]
    if bad:
        raise ValueError(
            f'the checkpoint does not fit CLIP vision arch "{vision_arch}" '
            f'/ text arch "{text_arch}" (another width or size?): ' +
            '; '.join(bad))
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if missing or unexpected:
        raise KeyError(f'converted keys do not match the towers: missing '
                       f'{missing[:10]}, unexpected {unexpected[:10]}')


def convert_file(src: str, dst: Optional[str] = None,
                 vision_arch: str = 'b16', text_arch: str = 'b',
                 act: Optional[str] = None) -> dict:
    """Convert ``src`` and write it to ``dst`` (atomically) if given.

    Args:
        act (str, optional): ``'quick_gelu'`` or ``'gelu'``; required when
            the source format does not say (see :func:`resolve_act`).
    """
    act, act_from = resolve_act(src, act)
    state_dict = convert_clip_state_dict(load_clip_file(src))
    state_dict = OrderedDict(
        (k, v.float().contiguous()) for k, v in state_dict.items())
    check_against_towers(state_dict, vision_arch, text_arch)
    # Per-tower metadata: checked by the towers' load pre-hooks.
    state_dict._metadata = OrderedDict(
        (tower, dict(act=act)) for tower in ('vision_encoder',
                                             'text_encoder'))
    ckpt = dict(state_dict=state_dict,
                meta=dict(source=osp.basename(src), vision_arch=vision_arch,
                          text_arch=text_arch, act=act, act_from=act_from))
    if dst is not None:
        from mmmae.utils.atomic_io import atomic_torch_save
        atomic_torch_save(ckpt, dst)
    return ckpt


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='OpenAI .pt or open_clip state dict')
    parser.add_argument('dst', help='output .pth for mmmae')
    parser.add_argument('--vision-arch', default='b16',
                        help='CLIPVisionTransformer arch (b16, l14)')
    parser.add_argument('--text-arch', default='b',
                        help='CLIPTextTransformer arch (b, l)')
    parser.add_argument('--act', choices=ACTS, default=None,
                        help='MLP activation the weights were trained with; '
                        'required when the source format does not say it')
    return parser.parse_args()


def main():
    args = parse_args()
    ckpt = convert_file(args.src, args.dst, args.vision_arch, args.text_arch,
                        args.act)
    n = sum(v.numel() for v in ckpt['state_dict'].values())
    meta = ckpt['meta']
    print(f'wrote {args.dst}: {len(ckpt["state_dict"])} tensors, '
          f'{n / 1e6:.2f} M parameters, act={meta["act"]} (from '
          f'{meta["act_from"]})')


if __name__ == '__main__':
    main()
