"""Prompt checkpoints through tools/train.py and tools/test.py on the
README's main config, narrowed (issue 12, items 1, 7, 10):

- two runs with other seeds in one work dir: the first run's checkpoint
  still tests, with the metrics its own validation gave;
- a full fine-tuning checkpoint tested with the prompt config fails naming
  both models (it used to exit 0 with random prompts);
- ``backbone.frozen=False`` warns and writes a full checkpoint.
"""
import os
import os.path as osp
import re

import pytest

from mmmae.datasets.synthetic_nyuv2 import generate_synthetic_nyuv2
from mmmae.utils import load_checkpoint_file
from mmmae.utils.delta_checkpoint import DELTA_KEY
from toy_project import run_tool

PROMPT = 'configs/prompt/' \
    'mtprompt_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py'
FULL_FT = 'configs/multimae/' \
    'multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py'

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('delta_tools')
    generate_synthetic_nyuv2(str(root / 'synth'), num_train=4, num_test=2,
                             seed=0)
    return root


def _options(root, iters, *extra):
    data = str(root / 'synth')
    return ['--cfg-options', f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters}',
            f'default_hooks.checkpoint.interval={iters}',
            'model.backbone.arch.embed_dims=32',
            'model.backbone.arch.num_heads=2',
            'model.decode_heads.depth.embed_dims=32',
            'model.decode_heads.semseg.in_channels=32',
            'train_dataloader.batch_size=2',
            f'train_dataloader.dataset.data_root={data}',
            f'val_dataloader.dataset.data_root={data}',
            f'test_dataloader.dataset.data_root={data}', *extra]


def _run(args, root):
    proc = run_tool(args, root, timeout=600)
    return proc.returncode, proc.stdout


def _metrics(text, pattern):
    return re.findall(pattern, text)[-1]


def test_two_runs_in_one_work_dir(root):
    work = str(root / 'work')
    rc, log_a = _run(['tools/train.py', PROMPT, '--work-dir', work] +
                     _options(root, 2, 'randomness.seed=0'), root)
    assert rc == 0, log_a[-3000:]
    rc, log_b = _run(['tools/train.py', PROMPT, '--work-dir', work] +
                     _options(root, 1, 'randomness.seed=1'), root)
    assert rc == 0, log_b[-3000:]
    bases = re.findall(r'frozen_base-\w{12}\.pth', log_a + log_b)
    assert len(set(bases)) == 2  # one base per run, side by side
    rc, out = _run(['tools/test.py', PROMPT,
                    osp.join(work, 'iter_2.pth'), '--work-dir',
                    str(root / 'test')] + _options(root, 2), root)
    assert rc == 0, out[-3000:]
    # The same metrics as the first run's own validation.
    val = _metrics(log_a, r'Iter\(val\).*mIoU: ([\d.]+).*d1: ([\d.]+)')
    tested = (_metrics(out, r'\nmIoU +\| ([\d.]+)'),
              _metrics(out, r'\nd1 +\| ([\d.]+)'))
    assert tuple(float(v) for v in tested) == tuple(float(v) for v in val)


def test_full_ft_checkpoint_with_prompt_config_fails(root):
    work = str(root / 'ft')
    rc, log = _run(['tools/train.py', FULL_FT, '--work-dir', work] +
                   _options(root, 1), root)
    assert rc == 0, log[-3000:]
    rc, out = _run(['tools/test.py', PROMPT,
                    osp.join(work, 'iter_1.pth'), '--work-dir',
                    str(root / 'test_ft')] + _options(root, 1), root)
    last = out.strip().splitlines()[-1]
    assert rc == 1, out[-3000:]
    assert last.startswith('WrongModelCheckpointError: ')
    assert 'it comes from MultiTaskSegmentor(backbone=MultiViT(' \
        'embed_dims=32, depth=4), prompt=None' in last
    assert 'the config builds MultiTaskSegmentor(backbone=MultiViT(' \
        'embed_dims=32, depth=4), prompt=MultiTaskPrompt' in last


def test_unfrozen_prompt_config_warns_and_saves_full(root):
    work = str(root / 'unfrozen')
    rc, log = _run(['tools/train.py', PROMPT, '--work-dir', work] +
                   _options(root, 1, 'model.backbone.frozen=False'), root)
    assert rc == 0, log[-3000:]
    assert 'no parameter is frozen' in log and '(100%)' in log
    ckpt = load_checkpoint_file(osp.join(work, 'iter_1.pth'))
    assert DELTA_KEY not in ckpt['meta']
    assert 'backbone.blocks.0.attn.qkv.weight' in ckpt['state_dict']
    assert not [f for f in os.listdir(work) if f.startswith('frozen_base')]
