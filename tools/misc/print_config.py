"""Print the whole config, ``_base_`` files and ``--cfg-options`` resolved.

    python tools/misc/print_config.py CONFIG [--cfg-options k=v ...]
        [--save-path full.py|full.json|full.yaml] [--graph]

As mmseg's and mmdet's ``print_config.py``, but the config is read with
mmmae's ``load_config``: a missing file names the closest configs, and a
key that looks like a typo of a known key (``tain_cfg``) is an error, not
silently ignored. ``--save-path`` is written atomically.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction
from mmengine.fileio import dump

# Run from a checkout without `pip install -e .`.
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmmae.utils import (ConfigKeyError, ConfigNotFoundError,  # noqa: E402
                         UnknownTypeError, load_config)
from mmmae.utils.atomic_io import DiskFullError, atomic_write_text  # noqa: E402,E501

FORMATS = ('py', 'json', 'yaml', 'yml')
CLEAR_ERRORS = (ConfigNotFoundError, ConfigKeyError, UnknownTypeError,
                DiskFullError, ValueError)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--save-path',
        help='also save the whole config to this file (.py, .json or .yaml)')
    parser.add_argument(
        '--graph', action='store_true', help='also print the model graph')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value (as in '
        'tools/train.py); a key that looks like a typo of a known key fails')
    return parser.parse_args(argv)


def config_text(cfg, path: str) -> str:
    """``cfg`` in the format ``path``'s suffix names."""
    suffix = path.rsplit('.', 1)[-1].lower() if '.' in path else ''
    if suffix not in FORMATS:
        raise ValueError(f'--save-path {path}: the file name must end with '
                         f'one of {["." + f for f in FORMATS]}')
    if suffix == 'py':
        return cfg.pretty_text
    return dump(cfg.to_dict(), file_format='yaml' if suffix == 'yml'
                else suffix)


def model_graph(cfg) -> str:
    """``str(model)`` of the config's model, built (weights not loaded)."""
    from mmengine.registry import init_default_scope

    from mmmae.registry import MODELS
    from mmmae.utils import explain_registry_errors, register_all_modules
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmmae'))
    with explain_registry_errors(cfg):
        return str(MODELS.build(cfg.model))


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    text = None
    if args.save_path:
        text = config_text(cfg, args.save_path)  # a bad suffix fails first
    print(f'Config:\n{cfg.pretty_text}')
    if args.graph:
        print(f'Model graph:\n{model_graph(cfg)}')
    if args.save_path:
        atomic_write_text(args.save_path, text)
        print(f'saved the whole config to {args.save_path}')
    return cfg


if __name__ == '__main__':
    try:
        main()
    except CLEAR_ERRORS as e:
        sys.exit(f'{type(e).__name__}: {e}')
