"""A dataset pipeline's samples/s beside its decode-only floor.

The floor decodes, with ``cv2.imread(path, cv2.IMREAD_UNCHANGED)``, exactly
the files that each measured sample read (every modality and target),
once per file: what no pipeline over these files can beat in one process.
``pipeline_to_floor`` = pipeline samples/s / floor samples/s (1.0 = the
pipeline adds nothing to decoding).

Used by ``tools/analysis_tools/benchmark.py --phases data``.
"""
import os.path as osp
import random
import time
from collections import OrderedDict
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional

import cv2
import mmengine.fileio
import numpy as np
import torch
from mmengine.dataset import BaseDataset

from .rng_state import get_rng_state, set_rng_state

__all__ = ['dataset_root_key', 'check_dataset_root', 'sample_files',
           'decode_file', 'measure_pipeline', 'build_and_measure',
           'cv2_single_thread']

GENERATOR = ('python tools/dataset_converters/synthetic_nyuv2.py '
             '--size 480 640 --out /tmp/nyu640')


def dataset_root_key(cfg, loader: str = 'train_dataloader') -> tuple:
    """``(dataset cfg, cfg of the dataset holding data_root, its key)``.

    Looks through dataset wrappers (``dataset=`` of RepeatDataset and
    friends, the first of ConcatDataset's ``datasets=``); the key is the
    ``--cfg-options`` path, e.g. ``train_dataloader.dataset.data_root``.
    """
    loader_cfg = cfg.get(loader)
    if not loader_cfg or not loader_cfg.get('dataset'):
        raise KeyError(f'the config has no {loader}.dataset to measure')
    dataset = loader_cfg['dataset']
    inner, key = dataset, f'{loader}.dataset'
    while 'data_root' not in inner:
        if inner.get('dataset'):
            inner, key = inner['dataset'], key + '.dataset'
        elif inner.get('datasets'):
            inner, key = inner['datasets'][0], key + '.datasets.0'
        else:
            break
    return dataset, inner, key + '.data_root'


def _generator_hint(dataset_type: str, key: str) -> str:
    """How to make data for a dataset type, with the value for ``key``."""
    kind = dataset_type.split('.')[-1]
    if kind == 'NYUv2MultiTaskDataset':
        return (f'generate NYUv2-size synthetic data with `{GENERATOR}` and '
                f'pass {key}=/tmp/nyu640')
    if kind == 'MultiModalFolderDataset':
        return (f'generate NYUv2-size synthetic data with `{GENERATOR}` and '
                f'pass {key}=/tmp/nyu640/train (its train split holds rgb/, '
                'depth/ and semseg/)')
    if kind == 'MultiDomainDataset':
        return ('generate the toy domains with `python tools/'
                'dataset_converters/make_toy_multidomain.py '
                f'/tmp/toy_multidomain` and pass {key}=/tmp/toy_multidomain')
    return (f'for NYUv2-layout data, `{GENERATOR}` writes synthetic files '
            f'(pass {key}=/tmp/nyu640)')


def check_dataset_root(cfg, loader: str = 'train_dataloader',
                       config_name: str = 'the config') -> str:
    """Raise a ``FileNotFoundError`` naming the folder, the config key and
    how to make data if the dataset's ``data_root`` is missing; returns
    the key."""
    _, inner, key = dataset_root_key(cfg, loader)
    root = inner.get('data_root')
    if root and not osp.isdir(root):
        raise FileNotFoundError(
            f'dataset folder "{root}" does not exist (config key {key} of '
            f'{config_name}). Point it at the data with --cfg-options '
            f'{key}=PATH, or '
            f'{_generator_hint(str(inner.get("type", "")), key)}. Only the '
            'data phase reads files; the model phases use fake batches.')
    return key


def sample_files(info: dict) -> List[str]:
    """The existing files a data info lists (``*_path`` keys), once each."""
    paths = []
    for k, v in info.items():
        if k.endswith('_path') and isinstance(v, str) and osp.isfile(v) \
                and v not in paths:
            paths.append(v)
    return paths


def decode_file(path: str):
    """Decode one file as plainly as possible: an image unchanged (bit depth
    and channels kept), a ``.npy`` array, else its bytes."""
    if path.endswith('.npy'):
        return np.load(path, allow_pickle=False)
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        with open(path, 'rb') as f:
            return f.read()
    return img


@contextmanager
def _record_reads() -> Iterator[List[str]]:
    """Paths read through ``mmengine.fileio.get`` (how mmcv loaders read
    files) or ``decoders.imread_local`` (how mmmae's ``read_image`` reads a
    local file) while the context is open."""
    from mmmae.datasets.transforms import decoders
    reads: List[str] = []
    original, original_imread = mmengine.fileio.get, decoders.imread_local

    def get(filepath, *args, **kwargs):
        reads.append(str(filepath))
        return original(filepath, *args, **kwargs)

    def imread(filename, *args, **kwargs):
        reads.append(str(filename))
        return original_imread(filename, *args, **kwargs)

    mmengine.fileio.get, decoders.imread_local = get, imread
    try:
        yield reads
    finally:
        mmengine.fileio.get, decoders.imread_local = original, original_imread


def _plain_getitem(dataset) -> bool:
    """Whether ``dataset[i]`` is mmengine's ``pipeline(get_data_info(i))``,
    so the transforms can be stepped (and timed) one by one."""
    cls = type(dataset)
    return isinstance(dataset, BaseDataset) and \
        cls.prepare_data is BaseDataset.prepare_data and \
        hasattr(getattr(dataset, 'pipeline', None), 'transforms')


def _run_sample(dataset, idx: int, step: bool, names: List[str],
                transforms) -> tuple:
    """Run sample ``idx`` once: ``(seconds, {transform: seconds}, files
    read, where that list came from)``."""
    taken: Dict[str, float] = {}
    with _record_reads() as reads:
        start = time.perf_counter()
        if step:
            results = dataset.get_data_info(idx)
            for name, t in zip(names, transforms):
                t0 = time.perf_counter()
                results = t(results)
                taken[name] = time.perf_counter() - t0
                if results is None:
                    break
        else:
            dataset[idx]
        seconds = time.perf_counter() - start
    # The files the loaders read; a dataset reading around mmengine's
    # file backend falls back to the paths its data info lists.
    read = list(OrderedDict.fromkeys(reads))
    if read:
        return (seconds, taken, read,
                'read by the pipeline (mmengine.fileio.get, read_image)')
    read = sample_files(dataset.get_data_info(idx))
    if not read:
        raise ValueError(
            f'{type(dataset).__name__}: cannot tell which files sample '
            f'{idx} reads (no mmengine.fileio reads, no *_path keys)')
    return seconds, taken, read, 'listed in the data info (*_path keys)'


def measure_pipeline(dataset, num_samples: int = 20, warmup: int = 2,
                     seed: int = 0, passes: int = 1) -> dict:
    """Time ``num_samples`` samples of ``dataset`` and their decode floor.

    Indices run 0, 1, ... (cycling), after ``warmup`` untimed samples;
    every file is read once beforehand, so both measurements find it in the
    page cache. Each sample's files are decoded right after its pipeline
    run: on a shared machine both see the same load, and their ratio is
    steadier than either rate. With ``passes`` > 1 each sample runs that
    many times from the same random state (the same draws) and each time
    counts its fastest run, pipeline and floor alike (per transform too):
    what the machine does without interference, as ``timeit`` takes the
    best of its repeats.

    Returns:
        dict: ``pipeline_samples_per_s``, ``decode_floor_samples_per_s``,
        ``pipeline_to_floor``, ``files_per_sample``, ``floor_files`` (where
        the file list came from), ``transforms`` (ms per sample of each
        transform, when the pipeline could be stepped), ``num_samples``,
        ``warmup``, ``passes``, ``dataset`` (class name) and ``num_items``.
    """
    if num_samples < 1:
        raise ValueError(f'num_samples must be >= 1, got {num_samples}')
    if passes < 1:
        raise ValueError(f'passes must be >= 1, got {passes}')
    n = len(dataset)
    if n == 0:
        raise ValueError(f'{type(dataset).__name__} is empty')
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    order = [i % n for i in range(warmup + num_samples)]
    step = _plain_getitem(dataset)
    transforms = dataset.pipeline.transforms if step else []
    names = [f'{i}:{type(t).__name__}' for i, t in enumerate(transforms)]
    spent: Dict[str, float] = OrderedDict((name, 0.) for name in names)
    # Both measurements find the files in the page cache.
    for idx in set(order):
        for path in sample_files(dataset.get_data_info(idx)):
            with open(path, 'rb') as f:
                f.read()
    files: List[List[str]] = []
    total = 0.
    floor = 0.
    sources = set()
    for k, idx in enumerate(order):
        timed = k >= warmup
        state = get_rng_state(cuda=False)
        best_pipeline = best_floor = float('inf')
        best_spent = {name: float('inf') for name in names}
        for _ in range(passes):
            set_rng_state(state)
            seconds, taken, read, source = _run_sample(
                dataset, idx, step, names, transforms)
            sources.add(source)
            # Decoded right after the pipeline, so that both see the same
            # load on a shared machine.
            start = time.perf_counter()
            for path in read:
                decode_file(path)
            best_floor = min(best_floor, time.perf_counter() - start)
            best_pipeline = min(best_pipeline, seconds)
            for name, t in taken.items():
                best_spent[name] = min(best_spent[name], t)
        if timed:
            floor += best_floor
            total += best_pipeline
            files.append(read)
            for name in names:
                if best_spent[name] < float('inf'):
                    spent[name] += best_spent[name]
    source = ' / '.join(sorted(sources))
    pipeline_rate = num_samples / total
    floor_rate = num_samples / floor
    return dict(
        dataset=type(dataset).__name__, num_items=n,
        num_samples=num_samples, warmup=warmup, passes=passes,
        pipeline_samples_per_s=pipeline_rate,
        decode_floor_samples_per_s=floor_rate,
        pipeline_to_floor=pipeline_rate / floor_rate,
        files_per_sample=sum(map(len, files)) / len(files),
        floor_files=source,
        transforms=[dict(transform=name,
                         ms_per_sample=1e3 * s / num_samples,
                         share=s / total) for name, s in spent.items()])


def build_and_measure(cfg, loader: str = 'train_dataloader',
                      config_name: str = 'the config', **kwargs) -> dict:
    """Build ``cfg[loader].dataset`` (after :func:`check_dataset_root`) and
    :func:`measure_pipeline` it; adds ``loader``, ``data_root`` and
    ``data_root_key`` to the result."""
    from mmmae.registry import DATASETS
    key = check_dataset_root(cfg, loader, config_name)
    dataset_cfg, inner, _ = dataset_root_key(cfg, loader)
    try:
        dataset = DATASETS.build(dataset_cfg)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f'{err} (dataset of {loader} in {config_name}; data_root is the '
            f'config key {key}; synthetic data: `{GENERATOR}`)') from err
    out = measure_pipeline(dataset, **kwargs)
    out.update(loader=loader, data_root=inner.get('data_root'),
               data_root_key=key)
    return out


def cv2_single_thread(enable: bool = True) -> Optional[int]:
    """Set OpenCV to one thread, as mmengine's runner does in data workers
    (``opencv_num_threads=0``); returns the previous count."""
    previous = cv2.getNumThreads()
    if enable:
        cv2.setNumThreads(0)
    return previous
