"""demo/dense_demo.py, demo/reconstruction_demo.py and demo/clip_demo.py
end to end on tiny random models (subprocesses: about two minutes on two
busy cores, hence ``slow``)."""
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint

from mmmae.registry import MODELS
from test_clip_inferencer import CLIP
from test_inference import _config
from test_reconstruction_inferencer import PRETRAIN

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _run(*args):
    proc = subprocess.run([sys.executable, *args], capture_output=True,
                          text=True, cwd=REPO,
                          env=dict(os.environ, OMP_NUM_THREADS='1'))
    return proc


def _random_checkpoint(cfg, path):
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    save_checkpoint(dict(state_dict=model.state_dict()), str(path))
    return str(path)


@pytest.mark.slow
def test_dense_demo_rgbd_folders_on_rgb_only(data, tmp_path):
    cfg = _config(('rgb', 'depth'))
    cfg.model.readout = dict(modalities=None, mode='mean')
    cfg.dump(str(tmp_path / 'cfg.py'))
    ckpt = _random_checkpoint(cfg, tmp_path / 'm.pth')
    out = tmp_path / 'out'
    proc = _run('demo/dense_demo.py', str(data / 'rgb'),
                str(tmp_path / 'cfg.py'), ckpt, '--out-dir', str(out),
                '--depth', str(data / 'depth'), '--modalities', 'rgb',
                '--batch-size', '2')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'input modalities used: rgb (the model was trained on rgb, ' \
        'depth' in proc.stdout
    # picture, depth, semseg and the viewable twins of both, each
    assert len(os.listdir(out)) == 3 * 5
    assert os.path.isfile(out / '000002_depth_vis.png')
    depth = cv2.imread(str(out / '000002_depth.png'), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16 and depth.shape == (48, 64)
    proc = _run('demo/dense_demo.py', str(data / 'rgb'),
                str(tmp_path / 'cfg.py'), ckpt, '--out-dir', str(out),
                '--modalities', 'rgb', 'sonar')
    assert proc.returncode != 0
    assert "['sonar'] have no input adapter" in proc.stderr


@pytest.mark.slow
def test_reconstruction_demo(data, tmp_path):
    ckpt = _random_checkpoint(Config.fromfile(osp.join(REPO, PRETRAIN)),
                              tmp_path / 'mae.pth')
    out = tmp_path / 'out'
    proc = _run('demo/reconstruction_demo.py',
                str(data / 'rgb' / '000000.png'), PRETRAIN, ckpt,
                '--out-dir', str(out), '--depth',
                str(data / 'depth' / '000000.png'), '--visible', 'rgb=6',
                'depth=2', '--seed', '3')
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'inputs: rgb, depth; 1 picture(s)' in proc.stdout
    # 4 rows (rgb, norm_rgb, depth, semseg) of 3 titled 64 px maps (x3)
    picture = cv2.imread(str(out / '000000.png'))
    assert picture.shape[0] > 4 * (20 + 192) and picture.shape[1] > 3 * 192
    proc = _run('demo/reconstruction_demo.py',
                str(data / 'rgb' / '000000.png'), PRETRAIN, ckpt,
                '--out-dir', str(out), '--visible', 'depth=2')
    assert proc.returncode != 0
    assert "visible names ['depth']" in proc.stderr


@pytest.mark.slow
def test_clip_demo(tmp_path):
    ckpt = _random_checkpoint(Config.fromfile(osp.join(REPO, CLIP)),
                              tmp_path / 'clip.pth')
    img = tmp_path / 'img.png'
    cv2.imwrite(str(img), np.full((32, 32, 3), 200, np.uint8))
    proc = _run('demo/clip_demo.py', str(img), CLIP, ckpt, '--task',
                'Product', '--out-dir', str(tmp_path / 'out'), '--topk', '2')
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = [l for l in proc.stdout.splitlines() if l.startswith(str(img))]
    assert len(line) == 1 and '[Product]:' in line[0]
    assert len(line[0].split(': ')[1].split(', ')) == 2
    assert osp.isfile(tmp_path / 'out' / 'img.png')
    proc = _run('demo/clip_demo.py', str(img), CLIP, ckpt, '--task', 'Sketch')
    assert proc.returncode != 0
    assert "the classifier knows the tasks ['Art', 'Clipart', 'Product', " \
        "'Real_World']" in proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize('script', ['dense_demo.py', 'reconstruction_demo.py',
                                    'clip_demo.py'])
def test_demo_help(script):
    proc = _run(osp.join('demo', script), '--help')
    assert proc.returncode == 0 and 'usage' in proc.stdout
