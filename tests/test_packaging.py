"""A non-editable install carries configs/, tools/ and model-index.yml
under mmmae/.mim, and ``mmmae.utils.get_config`` finds a config there; the
metadata is complete and install_requires holds only what mmmae imports.

The package is built from a copy of the checkout (what MANIFEST.in ships),
so nothing is written into the shared working tree."""
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys
from email.parser import Parser

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHIPPED = ('setup.py', 'setup.cfg', 'MANIFEST.in', 'README.md', 'LICENSE',
           'CHANGELOG.md', 'model-index.yml', 'requirements.txt',
           'requirements', 'mmmae', 'configs', 'tools', 'demo')
CONFIG = 'multimae/multimae_vit-tiny_depth_1xb8-300i_nyuv2synth-64x64.py'


def _copy_checkout(dst):
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', '*.egg-info',
                                    '.mim')
    for name in SHIPPED:
        src = osp.join(ROOT, name)
        if osp.isdir(src):
            shutil.copytree(src, osp.join(dst, name), ignore=ignore)
        elif osp.isfile(src):
            shutil.copy2(src, osp.join(dst, name))
    return dst


def _pip(*args, cwd=None):
    env = dict(os.environ, PIP_NO_INDEX='1', OMP_NUM_THREADS='1')
    out = subprocess.run([sys.executable, '-m', 'pip', *args], cwd=cwd,
                         env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    src = _copy_checkout(str(tmp_path_factory.mktemp('src')))
    target = str(tmp_path_factory.mktemp('target'))
    _pip('install', '--no-deps', '--no-build-isolation', '--target', target,
         src)
    assert not osp.exists(osp.join(src, 'mmmae', '.mim')), \
        'the build must not write into the source tree'
    return target


def test_install_carries_configs_and_tools(installed):
    mim = osp.join(installed, 'mmmae', '.mim')
    for rel in ('model-index.yml', f'configs/{CONFIG}',
                'configs/multimae/metafile.yml', 'configs/_base_',
                'tools/train.py', 'tools/test.py',
                'tools/model_converters/multimae2mmmae.py'):
        assert osp.exists(osp.join(mim, rel)), rel
    ours = sorted(glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                            recursive=True))
    shipped = sorted(glob.glob(osp.join(mim, 'configs', '**', '*.py'),
                               recursive=True))
    assert len(shipped) == len(ours)


def test_get_config_finds_the_packaged_config(installed, tmp_path):
    # Run outside the checkout, with the installed copy first on the path.
    code = (
        'import os.path as osp, mmmae\n'
        'from mmmae.utils import get_config\n'
        'from mmmae.utils.model_zoo import get_config_path, model_names\n'
        f'assert mmmae.__file__.startswith({installed!r}), mmmae.__file__\n'
        f'path = get_config_path({CONFIG!r})\n'
        f'assert path.startswith({installed!r}), path\n'
        "assert '.mim' in path, path\n"
        f'cfg = get_config({CONFIG!r})\n'
        "assert cfg.model.type == 'MultiTaskSegmentor'\n"
        "assert 'multimae-b_rgb-depth-semseg_1600e_multivit' in "
        'model_names()\n'
        'try:\n'
        "    get_config('multimae/nope.py')\n"
        'except FileNotFoundError as e:\n'
        "    assert 'nope.py' in str(e) and '.mim' in str(e)\n"
        'else:\n'
        "    raise AssertionError('no error')\n"
        "print('ok')\n")
    env = dict(os.environ, PYTHONPATH=installed, OMP_NUM_THREADS='1')
    out = subprocess.run([sys.executable, '-c', code], cwd=str(tmp_path),
                         env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and 'ok' in out.stdout, out.stderr[-3000:]


def test_metadata_is_complete(installed):
    (dist,) = glob.glob(osp.join(installed, 'mmmae-*.dist-info'))
    with open(osp.join(dist, 'METADATA'), encoding='utf-8') as f:
        meta = Parser().parse(f)
    assert meta['Author'] and meta['Requires-Python'] == '>=3.8'
    assert 'Apache' in (meta['License'] or meta['License-Expression'] or '')
    assert any('License :: OSI Approved :: Apache' in c
               for c in meta.get_all('Classifier'))
    required = [r for r in meta.get_all('Requires-Dist')
                if 'extra ==' not in r]
    names = sorted(r.split(';')[0].split('>')[0].split('<')[0].split('=')[0]
                   .strip().lower() for r in required)
    assert names == sorted(['torch', 'numpy', 'opencv-python-headless',
                            'scipy', 'pyyaml', 'open-clip-torch'])
    (clip,) = [r for r in required if r.startswith('open-clip-torch')]
    assert '==' not in clip and '<4' in clip
    licences = glob.glob(osp.join(dist, '**', 'LICENSE'), recursive=True)
    assert licences, 'LICENSE is not in the wheel'


def test_install_requires_covers_mmmaes_imports():
    """Every third-party module mmmae imports is in install_requires or is
    one of the OpenMMLab packages of the `mim` extra."""
    import ast
    found = set()
    for path in glob.glob(osp.join(ROOT, 'mmmae', '**', '*.py'),
                          recursive=True):
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {a.name.split('.')[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.add(node.module.split('.')[0])
    third_party = {m for m in found
                   if m not in sys.stdlib_module_names and m != 'mmmae'}
    provided = {'torch': 'torch', 'numpy': 'numpy', 'cv2':
                'opencv-python-headless', 'scipy': 'scipy', 'yaml': 'pyyaml',
                'open_clip': 'open-clip-torch', 'mmengine': 'mim',
                'mmcv': 'mim', 'mmseg': 'mim', 'mmpretrain': 'mim'}
    assert third_party <= set(provided), third_party - set(provided)
    with open(osp.join(ROOT, 'requirements', 'install.txt')) as f:
        listed = {line.split('#')[0].strip() for line in f} - {''}
    names = {r.split('>')[0].split('<')[0].split('=')[0] for r in listed}
    assert names == {v for v in provided.values() if v != 'mim'}
