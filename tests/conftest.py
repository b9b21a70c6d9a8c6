import importlib.util
import os.path as osp

import pytest
import torch

from mmmae.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(autouse=True, scope='session')
def _mmmae_scope():
    register_all_modules()
    # Two cores: keep each test from oversubscribing them.
    torch.set_num_threads(1)


@pytest.fixture(scope='session')
def load_tool():
    """Return ``load(relpath, name=None)``, which runs the script at
    ``<repo root>/<relpath>`` as a fresh module called ``name`` (default:
    the file's stem) and returns it.

    Tool scripts are not a package, hence loading them by path.
    """

    def load(relpath, name=None):
        if name is None:
            name = osp.splitext(osp.basename(relpath))[0]
        spec = importlib.util.spec_from_file_location(
            name, osp.join(REPO, relpath))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
