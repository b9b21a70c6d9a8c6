"""A weight-side method written in the user's own package (one file) is
loaded with ``custom_imports`` and plugs into MultiViT by config, as
docs/tutorials/custom_prompt.md shows."""
import os.path as osp
import sys
import uuid

import pytest
import torch
from mmengine.config import Config

from mmmae.registry import MODELS

TUTORIAL = osp.join(osp.dirname(__file__), '..', '..', '..', 'docs',
                    'tutorials', 'custom_prompt.md')


def _tutorial_method() -> str:
    """The tutorial's example file, read from the doc itself."""
    with open(TUTORIAL) as f:
        text = f.read()
    start = text.index('# my_peft/scaling.py')
    return text[start:text.index('```', start)]


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    name = f'my_peft_plugin_{uuid.uuid4().hex[:8]}'
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / '__init__.py').write_text('from .scaling import OutputScaling\n')
    (pkg / 'scaling.py').write_text(_tutorial_method())
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    MODELS._module_dict.pop('OutputScaling', None)
    for mod in [m for m in sys.modules if m.startswith(name)]:
        del sys.modules[mod]


def test_custom_method_from_custom_imports(plugin, tmp_path):
    cfg_file = tmp_path / 'cfg.py'
    cfg_file.write_text(
        f"custom_imports = dict(imports=['{plugin}'], "
        'allow_failed_imports=False)\n'
        "model = dict(type='MultiViT', arch='tiny', patch_size=8, "
        'img_size=32, frozen=True, '
        "peft=dict(type='OutputScaling'))\n")
    cfg = Config.fromfile(str(cfg_file))
    torch.manual_seed(0)
    vit = MODELS.build(cfg.model)
    assert type(vit.peft).__module__ == f'{plugin}.scaling'
    trainable = sorted(n for n, p in vit.named_parameters()
                       if p.requires_grad)
    assert trainable == ['peft.gains.blocks_0_mlp_fc1',
                         'peft.gains.blocks_1_mlp_fc1']
    x = dict(rgb=torch.randn(1, 3, 32, 32), depth=torch.randn(1, 1, 32, 32))
    vit.eval()
    with torch.no_grad():
        before = vit(x)[0]
        vit.peft.gains['blocks_0_mlp_fc1'].mul_(2)
        assert not torch.allclose(vit(x)[0], before)
