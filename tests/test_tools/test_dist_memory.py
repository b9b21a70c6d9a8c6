"""tools/analysis_tools/dist_memory.py: per-rank memory of DDP and FSDP.
The 2-process run is slow; the summary and bad input are fast."""
import json
import os.path as osp

import pytest

from toy_project import REPO, run_tool

TOOL = 'tools/analysis_tools/dist_memory.py'
TINY = osp.join(REPO, 'configs/multimae/'
                'multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool(TOOL, 'dist_memory_tool')


def test_summary_means_ranks_and_divides_fsdp_by_ddp(tool):
    rows = []
    for kind, scale in (('ddp', 2.), ('fsdp', 1.)):
        for rank, extra in ((0, 0.), (1, 2.)):
            rows.append(dict(strategy=kind, rank=rank,
                             **{k: scale * 10 + extra for k in tool.FIELDS}))
    summary = tool.summarize(rows)
    assert summary['mean']['ddp']['param_mb'] == 21.
    assert summary['mean']['fsdp']['peak_rss_mb'] == 11.
    assert summary['fsdp_over_ddp']['optim_mb'] == pytest.approx(11 / 21)


def test_missing_config_is_named(tmp_path):
    proc = run_tool([TOOL, 'configs/nope.py'], tmp_path, timeout=120)
    assert proc.returncode == 1
    assert 'dist_memory: config file not found: configs/nope.py' in \
        proc.stdout


@pytest.mark.slow
def test_fsdp_halves_what_each_of_two_ranks_holds(tmp_path):
    out = tmp_path / 'mem.json'
    proc = run_tool([TOOL, TINY, '--iters', '1', '--batch-size', '2',
                     '--out', str(out)], tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert 'FSDP / DDP (rank mean): param_mb 0.500' in proc.stdout
    result = json.loads(out.read_text())
    rows = {(r['strategy'], r['rank']): r for r in result['rows']}
    assert set(rows) == {('ddp', 0), ('ddp', 1), ('fsdp', 0), ('fsdp', 1)}
    ddp = rows['ddp', 0]
    # The tiny model: 883.6K fp32 parameters, each with 2 AdamW moments.
    assert ddp['params_total'] == 883584
    assert ddp['param_mb'] == pytest.approx(4 * ddp['params_total'] / 2**20)
    assert ddp['optim_mb'] == pytest.approx(2 * ddp['param_mb'], rel=1e-3)
    for rank in (0, 1):
        fsdp = rows['fsdp', rank]
        for key in ('param_mb', 'grad_mb', 'optim_mb'):
            # An even split of the shards; FSDP pads to a multiple of 2.
            assert fsdp[key] == pytest.approx(ddp[key] / 2, rel=1e-3), key
        assert fsdp['peak_rss_mb'] > 0 and fsdp['losses'][0] > 0
