import pytest
import torch

from mmmae.utils import register_all_modules


@pytest.fixture(autouse=True, scope='session')
def _mmmae_scope():
    register_all_modules()
    # Two cores: keep each test from oversubscribing them.
    torch.set_num_threads(1)
