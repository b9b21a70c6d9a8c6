"""tools/test.py --modalities on the tiny RGB-D configs: the inputs used are
reported, and a bad subset fails naming the culprit."""
import os.path as osp
import subprocess
import sys

import pytest

from mmmae.datasets import generate_synthetic_nyuv2

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RGBD = ('configs/multimae/'
        'multimae_vit-tiny_seg-rgbd_1xb8-300i_nyuv2synth-64x64.py')
MAPROMPT = ('configs/prompt/'
            'maprompt_multimae-tiny_seg-rgbd_1xb8-300i_nyuv2synth-64x64.py')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('mod')
    generate_synthetic_nyuv2(str(root / 'nyu'), num_train=1, num_test=2,
                             size=(48, 64))
    ckpts = {}
    for name, cfg in (('rgbd', RGBD), ('maprompt', MAPROMPT)):
        ckpts[name] = str(root / f'{name}.pth')
        proc = subprocess.run(
            [sys.executable, 'tools/analysis_tools/save_init_checkpoint.py',
             cfg, ckpts[name]], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]
    return root, ckpts


def _test(setup, cfg, ckpt, *modalities):
    root, ckpts = setup
    return subprocess.run(
        [sys.executable, 'tools/test.py', cfg, ckpts[ckpt], '--work-dir',
         str(root / 'work'), '--cfg-options',
         f'test_dataloader.dataset.data_root={root / "nyu"}',
         '--modalities', *modalities],
        cwd=REPO, capture_output=True, text=True,
        env=dict(__import__('os').environ, OMP_NUM_THREADS='1'))


@pytest.mark.slow
def test_rgbd_model_tested_on_rgb_only(setup):
    proc = _test(setup, RGBD, 'rgbd', 'rgb')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ('input modalities used: rgb (the model was trained on rgb, '
            'depth; it has adapters for rgb, depth)') in proc.stdout
    assert any(line.startswith('mIoU') for line in proc.stdout.splitlines())


@pytest.mark.slow
def test_mean_readout_model_tested_on_depth_only(setup):
    proc = _test(setup, MAPROMPT, 'maprompt', 'depth')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'input modalities used: depth (' in proc.stdout


@pytest.mark.slow
def test_concat_readout_without_its_modality_and_unknown_name_fail(setup):
    proc = _test(setup, RGBD, 'rgbd', 'depth')
    assert proc.returncode != 0
    assert "ModalitySubsetError: decode_heads.semseg reads the tokens of " \
        "['rgb']" in proc.stderr
    proc = _test(setup, RGBD, 'rgbd', 'rgb', 'nir')
    assert proc.returncode != 0
    assert "UnknownModalityError: input modalities ['nir'] have no input " \
        "adapter in MultiTaskSegmentor; it knows ['rgb', 'depth']" \
        in proc.stderr
