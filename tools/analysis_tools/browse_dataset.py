"""Draw every input and target of dataset samples after the pipeline.

    python tools/analysis_tools/browse_dataset.py CONFIG \
        [--output-dir DIR] [--not-show] [--show-interval 2] \
        [--split train|val|test] [--max-samples N] \
        [--modalities rgb depth ...] [--cfg-options KEY=VALUE ...]

mmseg's ``browse_dataset.py`` for mmmae's datasets: one picture per sample
of the ``{split}_dataloader`` dataset (train by default, so the random
augmentations are applied), with every input modality and every ground
truth side by side and titled, so a crop or flip that left a map behind
shows at once (``mmmae.visualization.browse``). Classification samples
show the image with its class and domain. Pictures are written as
``DIR/<index>_<sample name>.png``, atomically, and never overwrite each
other.
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

# Run from a checkout without `pip install -e .`.
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

from mmmae.utils import ConfigNotFoundError, load_config  # noqa: E402
from mmmae.utils.config_errors import ConfigKeyError  # noqa: E402
from mmmae.utils.output_guard import data_roots  # noqa: E402

SYNTH_NYUV2 = 'python tools/dataset_converters/synthetic_nyuv2.py'
TOY_MULTIDOMAIN = 'python tools/dataset_converters/make_toy_multidomain.py'


class BrowseError(ValueError):
    """Bad input to the tool; the message names the culprit."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Browse a dataset: every modality and target of a '
        'sample after the pipeline, side by side')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--output-dir', default=None, type=str,
        help='if set, the pictures are written into this folder')
    parser.add_argument('--not-show', default=False, action='store_true',
                        help='do not show the pictures in a window')
    parser.add_argument('--show-interval', type=float, default=2,
                        help='seconds each picture is shown')
    parser.add_argument('--split', choices=['train', 'val', 'test'],
                        default='train',
                        help='which dataloader\'s dataset (default train: '
                        'its pipeline augments)')
    parser.add_argument('--max-samples', type=int, default=None,
                        help='draw only the first N samples')
    parser.add_argument(
        '--modalities', nargs='+', default=None,
        help='draw only these inputs/targets (e.g. rgb depth); default all')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override some settings in the used config, the key-value pair '
        'in xxx=yyy format will be merged into config file, e.g. '
        'train_dataloader.dataset.data_root=data/nyuv2_synth')
    args = parser.parse_args(argv)
    if args.max_samples is not None and args.max_samples < 1:
        parser.error(f'--max-samples must be >= 1, got {args.max_samples}')
    return args


def make_data_hint(root: str, dataset_type: str = '') -> str:
    """The command that makes the data of ``root``, when mmmae has one."""
    norm = root.replace('\\', '/')
    if 'toy_multidomain' in norm:
        return f'make it with: {TOY_MULTIDOMAIN} {root}'
    if 'nyuv2_synth' in norm:
        base = norm[:norm.index('nyuv2_synth') + len('nyuv2_synth')]
        return f'make the synthetic data with: {SYNTH_NYUV2} --out {base}'
    if dataset_type.split('.')[-1] == 'MultiDomainDataset':
        return ('prepare it as docs/mmap.md says, or point data_root at the '
                f'toy folder made by: {TOY_MULTIDOMAIN} data/toy_multidomain')
    return ('prepare the dataset as the config\'s comments and docs/ say '
            '(NYUv2: tools/dataset_converters/nyuv2.py, docs/tutorials/'
            'prepare_nyuv2.md), or point data_root at the synthetic stand-in '
            f'made by: {SYNTH_NYUV2} --out data/nyuv2_synth')


def build_dataset(cfg, config: str, split: str):
    """The ``{split}_dataloader`` dataset; a missing folder names itself
    and the command that makes the data."""
    from mmmae.registry import DATASETS
    loader = cfg.get(f'{split}_dataloader')
    if not loader or not loader.get('dataset'):
        raise BrowseError(f'{config} has no {split}_dataloader.dataset')
    dataset_cfg = loader['dataset']
    for root in data_roots(dataset_cfg):
        if not osp.isdir(root):
            raise BrowseError(
                f'dataset folder "{root}" ({split}_dataloader.dataset.'
                f'data_root of {config}) does not exist; '
                f'{make_data_hint(root, dataset_cfg.get("type", ""))}')
    try:
        return DATASETS.build(dataset_cfg), dataset_cfg
    except FileNotFoundError as e:
        root = (data_roots(dataset_cfg) or [''])[0]
        hint = make_data_hint(root, dataset_cfg.get('type', ''))
        raise BrowseError(f'{split} dataset of {config}: {e}; {hint}') from e


def header_line(index: int, packed: dict) -> str:
    ds = packed.get('data_samples')
    meta = ds.metainfo if ds is not None else {}
    parts = [f'#{index}', str(meta.get('img_path', ''))]
    if meta.get('ori_shape') is not None and meta.get('img_shape'):
        ori, shape = meta['ori_shape'][:2], meta['img_shape'][:2]
        parts.append(f'{ori[0]}x{ori[1]} -> {shape[0]}x{shape[1]} (HxW)')
    if meta.get('flip'):
        parts.append(f'flipped {meta.get("flip_direction") or ""}'.strip())
    return ' | '.join(p for p in parts if p)


def picture_name(index: int, packed: dict) -> str:
    ds = packed.get('data_samples')
    path = ds.metainfo.get('img_path') if ds is not None else None
    stem = osp.splitext(osp.basename(path))[0] if path else 'sample'
    return f'{index:05d}_{stem}.png'


def main(argv=None):
    """Returns the pictures written (paths)."""
    args = parse_args(argv)
    if args.not_show and not args.output_dir:
        raise BrowseError('nothing to do: --not-show without --output-dir')
    cfg = load_config(args.config, args.cfg_options)
    import mmcv
    from mmengine.utils import ProgressBar

    from mmmae.utils import register_all_modules
    from mmmae.utils.atomic_io import atomic_imwrite
    from mmmae.visualization.browse import (draw_panels, find_normalize,
                                            sample_panels, select_panels)
    register_all_modules()
    dataset, dataset_cfg = build_dataset(cfg, args.config, args.split)
    norm = find_normalize(dataset_cfg.get('pipeline'))
    source = (f'the {args.split} dataset ({type(dataset).__name__}) of '
              f'{args.config}')
    visualizer = None
    if not args.not_show:
        from mmengine.visualization import Visualizer
        visualizer = Visualizer.get_instance('mmmae_browse_dataset')
    total = len(dataset) if args.max_samples is None else \
        min(len(dataset), args.max_samples)
    written, progress = [], None
    for index in range(total):
        packed = dataset[index]
        panels = select_panels(
            sample_panels(packed, dataset.metainfo, norm), args.modalities,
            source)
        # After the first sample: a bad --modalities fails on a clean line.
        progress = progress or ProgressBar(total)
        picture, _ = draw_panels(panels, header_line(index, packed))
        name = picture_name(index, packed)
        if args.output_dir:
            path = osp.join(args.output_dir, name)
            atomic_imwrite(path, mmcv.rgb2bgr(picture))
            written.append(path)
        if visualizer is not None:
            visualizer.show(picture, win_name=name,
                            wait_time=args.show_interval)
        progress.update()
    if args.output_dir:
        print(f'\nwrote {len(written)} pictures to {args.output_dir}')
    return written


if __name__ == '__main__':
    try:
        main()
    except (BrowseError, KeyError, ConfigNotFoundError,
            ConfigKeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        sys.exit(f'{type(e).__name__}: {msg}')
