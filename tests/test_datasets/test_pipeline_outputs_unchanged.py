"""The train pipelines' outputs, bit for bit, as before the speed work.

``tests/data/pipeline_outputs_511a577.json`` holds a digest of every output
(each tensor's dtype, shape, strides and bytes, and the metainfo) of three
train pipelines on a synthetic NYUv2 (seed 5, 6 train images of 120x160),
written by the code of commit 511a577, before the data-pipeline speed-ups
of issue 17. The optimised transforms must give the same outputs and draw
the same random numbers for the same seed.

To rewrite the fixture (only with code whose outputs are trusted), run this
file from that checkout: ``PYTHONPATH=. python
tests/test_datasets/test_pipeline_outputs_unchanged.py OUT.json``.
"""
import hashlib
import json
import os
import os.path as osp
import random
import sys

import cv2
import numpy as np
import pytest
import torch

FIXTURE = osp.join(osp.dirname(__file__), '..', 'data',
                   'pipeline_outputs_511a577.json')
PIPELINES = {  # config -> (split folder under the root, samples, seeds)
    'configs/_base_/datasets/nyuv2_depth-seg.py': ('', 12, (0, 1)),
    'configs/_base_/datasets/nyuv2_depth.py': ('', 12, (0, 1)),
    'configs/_base_/datasets/multimae_pretrain_folder.py': ('train', 8, (0, )),
}
SIZE = (120, 160)  # (h, w) of the synthetic files
NUM_TRAIN = 6
REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _digest(x):
    if isinstance(x, torch.Tensor):
        arr = x.contiguous().numpy()
        # Strides of size-1 dimensions mean nothing (torch ignores them).
        strides = [s if n > 1 else None for s, n in zip(x.stride(),
                                                        x.shape)]
        return [str(x.dtype), list(x.shape), strides,
                hashlib.sha1(arr.tobytes()).hexdigest()]
    if isinstance(x, np.ndarray):
        return [str(x.dtype), list(x.shape),
                hashlib.sha1(np.ascontiguousarray(x).tobytes()).hexdigest()]
    if isinstance(x, dict):
        return {str(k): _digest(v) for k, v in sorted(x.items())}
    if isinstance(x, (list, tuple)):
        return [_digest(v) for v in x]
    if hasattr(x, 'metainfo'):
        out = dict(meta=_digest({k: v for k, v in x.metainfo.items()
                                 if k != 'img_path'}))
        for k in sorted(x.keys()):
            v = getattr(x, k)
            out[k] = _digest(v.data if hasattr(v, 'data') else v)
        return out
    return repr(x)


def _files(root: str) -> dict:
    files = {}
    for folder, _, names in sorted(os.walk(osp.join(root, 'train'))):
        for name in sorted(names):
            path = osp.join(folder, name)
            with open(path, 'rb') as f:
                files[osp.relpath(path, root)] = hashlib.sha1(
                    f.read()).hexdigest()
    return files


def pipeline_digests(root: str) -> dict:
    """{'files': {path: sha1}, 'outputs': {config: [sample digests]}} of
    the synthetic NYUv2 written at ``root``."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import mmmae  # noqa: F401 (registers the transforms)
    from mmmae.datasets.synthetic_nyuv2 import generate_synthetic_nyuv2
    from mmmae.registry import DATASETS
    generate_synthetic_nyuv2(root, num_train=NUM_TRAIN, num_test=1,
                             size=SIZE, seed=5)
    init_default_scope('mmmae')
    previous = cv2.getNumThreads()
    cv2.setNumThreads(0)  # as in mmengine's data workers
    outputs = {}
    try:
        for path, (split, num, seeds) in PIPELINES.items():
            cfg = Config.fromfile(osp.join(REPO, path)).train_dataloader
            cfg = cfg.dataset
            cfg.data_root = osp.join(root, split) if split else root
            dataset = DATASETS.build(cfg)
            samples = []
            for seed in seeds:
                random.seed(seed)
                np.random.seed(seed)
                torch.manual_seed(seed)
                for i in range(num):
                    samples.append(_digest(dataset[i % len(dataset)]))
            outputs[path] = samples
    finally:
        cv2.setNumThreads(previous)
    return dict(files=_files(root), outputs=outputs,
                versions=dict(opencv=cv2.__version__,
                              numpy=np.__version__))


def test_train_pipelines_give_the_outputs_of_511a577(tmp_path):
    with open(FIXTURE) as f:
        want = json.load(f)
    if want['versions']['opencv'] != cv2.__version__:
        pytest.skip(f'the fixture was made with OpenCV '
                    f'{want["versions"]["opencv"]}, this is '
                    f'{cv2.__version__}: its resizes may round differently')
    got = pipeline_digests(str(tmp_path / 'nyu'))
    assert got['files'] == want['files'], (
        'the synthetic NYUv2 generator writes other files than when the '
        'fixture was made; the pipelines cannot be compared')
    for config, samples in want['outputs'].items():
        for i, (g, w) in enumerate(zip(got['outputs'][config], samples)):
            assert g == w, f'{config}: sample {i} differs from 511a577'
        assert len(got['outputs'][config]) == len(samples)


if __name__ == '__main__':
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        result = pipeline_digests(osp.join(tmp, 'nyu'))
    from mmmae.utils.atomic_io import atomic_write_text
    atomic_write_text(sys.argv[1], json.dumps(result, indent=0,
                                             sort_keys=True))
