"""Publish a checkpoint: keep the weights and the useful meta, drop the run
state, and put the sha256 into the file name, as OpenMMLab does.

    python tools/misc/publish_model.py work_dirs/x/iter_20000.pth x.pth
    # -> x-<first 8 hex of sha256>.pth

The run state (optimizer, message hub, parameter schedulers, RNG state) is
dropped; ``state_dict`` and ``meta`` stay (the config text, dataset classes,
mmmae's model record). The checkpoint is read with mmmae's safe loader
(``--trust-checkpoint`` for a trusted file that needs more).

A delta (trainable-only) checkpoint of a prompt run is merged by default:
its base (the ``frozen_base-<fingerprint>.pth`` it records, a pre-trained
file, or ``--base PATH``) is loaded under it, checked against the frozen
weights' fingerprint, and the result is a standalone full checkpoint.
``--delta-only`` publishes the delta alone; it keeps its base reference,
and the tool prints which base it needs.
"""
import argparse
import hashlib
import io
import os.path as osp
import sys

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import get_state_dict, weights_to_cpu
from mmengine.utils import import_modules_from_strings

# Run from a checkout without `pip install -e .`.
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmmae.registry import MODELS  # noqa: E402
from mmmae.utils import (ConfigKeyError, ConfigNotFoundError,  # noqa: E402
                         CorruptCheckpointError, UnknownTypeError,
                         UnsafeCheckpointError, explain_registry_errors,
                         load_config, register_all_modules, trust_checkpoint)
from mmmae.utils.atomic_io import DiskFullError, atomic_write_bytes  # noqa: E402,E501
from mmmae.utils.checkpoint import load_checkpoint_file  # noqa: E402
from mmmae.utils.delta_checkpoint import (DELTA_KEY,  # noqa: E402
                                          MissingBaseCheckpointError,
                                          WrongBaseCheckpointError,
                                          is_delta, load_checkpoint)
from mmmae.utils.model_identity import WrongModelCheckpointError  # noqa: E402

# What a Runner checkpoint holds besides the weights and meta: run state,
# useless to whoever uses the model.
RUN_STATE = ('optimizer', 'message_hub', 'param_schedulers', 'rng_state')
# Old mmcv meta entries: local paths of the training machine.
PRIVATE_META = ('hook_msgs', )

CLEAR_ERRORS = (ConfigNotFoundError, ConfigKeyError, UnknownTypeError,
                UnsafeCheckpointError, CorruptCheckpointError,
                FileNotFoundError, MissingBaseCheckpointError,
                WrongBaseCheckpointError, WrongModelCheckpointError,
                DiskFullError, ValueError)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Strip a checkpoint of its run state and name it by '
        'its sha256 (a delta checkpoint is merged with its base unless '
        '--delta-only)')
    parser.add_argument('in_file', help='input checkpoint filename')
    parser.add_argument('out_file', help='output checkpoint filename; '
                        '"-<sha256[:8]>" is added before ".pth"')
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        '--merge', dest='delta_only', action='store_false',
        help='(default) a delta checkpoint is merged with its base into a '
        'standalone full checkpoint')
    mode.add_argument(
        '--delta-only', dest='delta_only', action='store_true',
        help='publish a delta checkpoint alone, keeping its base reference')
    parser.set_defaults(delta_only=False)
    parser.add_argument(
        '--base', '--base-checkpoint', dest='base', nargs='+',
        help='for --merge: the base checkpoint(s) of the delta, instead of '
        'the path(s) it recorded (checked against its fingerprint)')
    parser.add_argument(
        '--config', help='for --merge: the config that builds the model; '
        'defaults to the config text the checkpoint stores (meta["cfg"])')
    parser.add_argument(
        '--trust-checkpoint', action='store_true',
        help='IN_FILE (and its base) are trusted: load them without the '
        'weights_only allowlist (unpickling may run code)')
    return parser.parse_args(argv)


def _read(path: str) -> dict:
    """The checkpoint as a dict with ``state_dict`` (a bare state dict is
    wrapped); anything else is refused naming the file."""
    checkpoint = load_checkpoint_file(path, map_location='cpu')
    if isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('state_dict'), dict):
        return checkpoint
    if isinstance(checkpoint, dict) and checkpoint and all(
            isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return dict(state_dict=checkpoint)
    raise ValueError(
        f'{path} is not a model checkpoint: expected a dict with a '
        f'"state_dict" entry (or a dict of tensors), got '
        f'{type(checkpoint).__name__}'
        + (f' with keys {sorted(checkpoint)[:10]}'
           if isinstance(checkpoint, dict) else ''))


def _model_config(checkpoint: dict, path: str, config: str) -> Config:
    if config:
        return load_config(config)
    text = (checkpoint.get('meta') or {}).get('cfg')
    if not text or 'model' not in text:
        raise ValueError(
            f'{path} stores no config (meta["cfg"]) to build the model for '
            'merging its base; pass --config CONFIG, or --delta-only')
    cfg = Config.fromstring(text, file_format='.py')
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    return cfg


def merge_delta(checkpoint: dict, path: str, base=None,
                config: str = None) -> dict:
    """The full state dict of a delta checkpoint: the model its config
    builds, with the base then the delta loaded (fingerprint checked)."""
    cfg = _model_config(checkpoint, path, config)
    init_default_scope(cfg.get('default_scope', 'mmmae'))
    with explain_registry_errors(cfg):
        model = MODELS.build(cfg.model)
    load_checkpoint(model, path, base_checkpoint=base)
    # As mmengine's Runner saves a checkpoint.
    return weights_to_cpu(get_state_dict(model))


def strip(checkpoint: dict, delta_only: bool, state_dict=None) -> dict:
    """``state_dict`` and ``meta`` only; a merged checkpoint loses its
    delta record (it needs no base)."""
    meta = {k: v for k, v in (checkpoint.get('meta') or {}).items()
            if k not in PRIVATE_META}
    if not delta_only:
        meta.pop(DELTA_KEY, None)
    return dict(meta=meta, state_dict=state_dict
                if state_dict is not None else checkpoint['state_dict'])


def published_name(out_file: str, sha256: str) -> str:
    """``x.pth`` -> ``x-<sha256[:8]>.pth`` (torch.hub's convention)."""
    stem = out_file[:-4] if out_file.endswith('.pth') else out_file
    return f'{stem}-{sha256[:8]}.pth'


def describe_base(record: dict) -> str:
    """What a published delta needs, for the user shipping it."""
    lines = [f'this delta checkpoint needs its base (frozen-weight '
             f'fingerprint {record["fingerprint"][:12]}, '
             f'{record["num_frozen"]} frozen tensors, '
             f'{record["frozen_numel"]:,} values):']
    for s in record['sources']:
        where = f' into {s["target"]}' if s.get('target') else ''
        pre = f' (prefix {s["prefix"]})' if s.get('prefix') else ''
        sha = f', sha256 {s["sha256"]}' if s.get('sha256') else ''
        lines.append(f'  {s["path"]}{pre}{where}{sha}')
    lines.append('ship a frozen_base-*.pth file next to the delta (it is '
                 'found there by name), or pass the base with '
                 '--base-checkpoint PATH (tools/test.py) or '
                 'base_checkpoint=PATH (init_model)')
    return '\n'.join(lines)


def main(argv=None) -> str:
    args = parse_args(argv)
    register_all_modules()
    if args.trust_checkpoint:
        trust_checkpoint(args.in_file)
        for b in args.base or ():
            trust_checkpoint(b)
    checkpoint = _read(args.in_file)
    delta = is_delta(checkpoint)
    if args.delta_only and not delta:
        raise ValueError(f'--delta-only: {args.in_file} is not a delta '
                         'checkpoint (no meta["delta_checkpoint"])')
    state = None
    if delta and not args.delta_only:
        state = merge_delta(checkpoint, args.in_file, args.base, args.config)
    published = strip(checkpoint, args.delta_only, state)
    buffer = io.BytesIO()
    torch.save(published, buffer)
    data = buffer.getvalue()
    sha256 = hashlib.sha256(data).hexdigest()
    final = published_name(args.out_file, sha256)
    atomic_write_bytes(final, data)
    dropped = sorted(set(checkpoint) - set(published))
    kind = ('delta' if args.delta_only else
            'merged delta' if delta else 'full')
    print(f'published {kind} checkpoint {final}: '
          f'{len(published["state_dict"])} tensors, {len(data):,} bytes, '
          f'sha256 {sha256}; dropped {dropped or "nothing"}')
    if args.delta_only:
        print(describe_base(checkpoint['meta'][DELTA_KEY]))
    return final


if __name__ == '__main__':
    try:
        main()
    except CLEAR_ERRORS as e:
        sys.exit(f'{type(e).__name__}: {e}')
