"""Shared fixtures of the apis tests: synthetic NYUv2 test images (48x64)
and a random checkpoint of the tiny RGB-D segmentor of ``_config``."""
import pytest
import torch
from mmengine.runner import save_checkpoint

from mmmae.datasets import generate_synthetic_nyuv2
from mmmae.registry import MODELS
from test_inference import _config


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('synth')
    generate_synthetic_nyuv2(str(root / 'nyu'), num_train=1, num_test=3,
                             size=(48, 64))
    return root / 'nyu' / 'test'


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp('ckpt') / 'model.pth'
    torch.manual_seed(0)
    model = MODELS.build(_config(('rgb', 'depth')).model)
    # The layout a Runner checkpoint has.
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=dict(classes=['a'] * 40))),
                    str(path))
    return str(path)
