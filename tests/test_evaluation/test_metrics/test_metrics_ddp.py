"""The dense metrics give the same numbers on 2 gloo ranks as in one
process, with mmengine's padded round-robin split of an odd-sized set."""
import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

N_SAMPLES = 5


def _samples():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    g = torch.Generator().manual_seed(0)
    out = []
    for k in range(N_SAMPLES):
        ds = SegDataSample(metainfo=dict(img_path=f'{k}.png'))
        normals = torch.nn.functional.normalize(
            torch.randn(3, 12, 12, generator=g), dim=0)
        fields = dict(
            gt_normals=normals,
            pred_normals=normals + 0.5 * torch.randn(3, 12, 12, generator=g),
            gt_sal=(torch.rand(1, 12, 12, generator=g) > 0.6).float(),
            pred_sal=torch.rand(1, 12, 12, generator=g),
            gt_edge=(torch.rand(1, 12, 12, generator=g) > 0.8).float(),
            pred_edge=torch.rand(1, 12, 12, generator=g),
            gt_parts=torch.randint(0, 7 if k != 3 else 1, (1, 12, 12),
                                   generator=g),
            pred_parts=torch.randint(0, 7, (1, 12, 12), generator=g))
        for key, value in fields.items():
            ds.set_field(PixelData(data=value), key)
        out.append(ds.to_dict())
    return out


def _evaluator():
    from mmengine.evaluator import Evaluator
    from mmmae.utils import register_all_modules
    register_all_modules()
    return Evaluator([
        dict(type='NormalsMetric'),
        dict(type='SaliencyMetric'),
        dict(type='BoundaryMetric', max_dist=0.05, thresholds=[0.3, 0.6]),
        dict(type='HumanPartsIoUMetric')
    ])


def _rank(rank, port, out):
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    samples = _samples()
    # mmengine DefaultSampler(shuffle=False): pad to 6 by repeating the
    # start, rank r takes every second index from r.
    indices = (list(range(N_SAMPLES)) * 2)[:6][rank::2]
    evaluator = _evaluator()
    for i in indices:
        evaluator.process([samples[i]])
    metrics = evaluator.evaluate(N_SAMPLES)
    if rank == 0:
        with open(out, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f)
    # Both ranks tear gloo down together: a rank whose peer has already
    # exited can abort in teardown ("terminate called without an active
    # exception", seen under load).
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_equal_one_process(tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out = str(tmp_path / 'rank0.json')
    mp.spawn(_rank, args=(port, out), nprocs=2, join=True)
    evaluator = _evaluator()
    evaluator.process(_samples())
    single = evaluator.evaluate(N_SAMPLES)
    with open(out) as f:
        ddp = json.load(f)
    assert set(ddp) == set(single)
    for key, value in single.items():
        assert ddp[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key
