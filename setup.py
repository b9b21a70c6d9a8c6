"""Install mmmae: ``pip install -e .`` (development) or ``pip install .``.

The OpenMMLab forks in ``requirements/mminstall.txt`` must be installed with
``--no-deps`` (see ``tools/misc/setup_env.sh``), so they are an extra here
(``mim``) rather than a hard requirement: listing ``mmengine`` would make
pip pull upstream mmengine over the ``onedl-mmengine`` fork that provides it.

A built package carries ``configs/``, ``tools/``, ``demo/`` and
``model-index.yml`` under ``mmmae/.mim/``, where OpenMMLab's mim and
``mmmae.utils.get_config`` look for them.
"""
import os
import os.path as osp
import re
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = osp.dirname(osp.abspath(__file__))
# What an installed mmmae carries besides the Python package (mim layout).
MIM_FILES = ('configs', 'tools', 'demo', 'model-index.yml')


def get_version():
    """Read ``__version__`` without importing mmmae (its deps may be
    missing while pip builds the package)."""
    with open(osp.join(ROOT, 'mmmae', 'version.py'), encoding='utf-8') as f:
        match = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]", f.read())
    if match is None:
        raise RuntimeError('mmmae/version.py defines no __version__')
    return match.group(1)


def parse_requirements(fname):
    """Requirement strings of a requirements file, following ``-r`` lines
    and dropping comments and blank lines."""
    path = osp.join(ROOT, fname)
    reqs = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                sub = osp.join(osp.dirname(fname), line[3:].strip())
                reqs.extend(parse_requirements(sub))
            else:
                reqs.append(line)
    return reqs


def read_readme():
    path = osp.join(ROOT, 'README.md')
    if not osp.isfile(path):
        return ''
    with open(path, encoding='utf-8') as f:
        return f.read()


class BuildPyWithMim(build_py):
    """``build_py`` that also copies :data:`MIM_FILES` into
    ``<build>/mmmae/.mim``.

    mmseg's ``add_mim_extension`` copies them into the source tree
    (``mmseg/.mim``) before ``setup()``; copying into the build folder
    instead gives the same installed layout without writing into the
    checkout. An editable install needs no copy: the files are read from
    the checkout itself.
    """

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        mim = osp.join(self.build_lib, 'mmmae', '.mim')
        if osp.isdir(mim):
            shutil.rmtree(mim)
        os.makedirs(mim)
        ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
        for name in MIM_FILES:
            src = osp.join(ROOT, name)
            if osp.isdir(src):
                shutil.copytree(src, osp.join(mim, name), ignore=ignore)
            elif osp.isfile(src):
                shutil.copy2(src, osp.join(mim, name))


def add_mim_extension():
    """The setup() ``cmdclass`` that installs the mim files."""
    return dict(build_py=BuildPyWithMim)


if __name__ == '__main__':
    setup(
        name='mmmae',
        version=get_version(),
        description='OpenMMLab-style toolbox for MultiMAE, prompt tuning '
        'and MmAP',
        long_description=read_readme(),
        long_description_content_type='text/markdown',
        author='mmmae contributors',
        # No public repository exists yet: add ``url`` when there is one.
        project_urls={
            'MultiMAE reference code': 'https://github.com/EPFL-VILAB/MultiMAE',
            'MultiMAE paper': 'https://arxiv.org/abs/2204.01678',
        },
        license='Apache License 2.0',
        keywords='computer vision, multi-modal, MultiMAE, prompt tuning, '
        'CLIP, OpenMMLab',
        classifiers=[
            'Development Status :: 4 - Beta',
            'License :: OSI Approved :: Apache Software License',
            'Operating System :: OS Independent',
            'Programming Language :: Python :: 3',
            'Programming Language :: Python :: 3.8',
            'Programming Language :: Python :: 3.9',
            'Programming Language :: Python :: 3.10',
            'Programming Language :: Python :: 3.11',
            'Topic :: Scientific/Engineering :: Artificial Intelligence',
            'Topic :: Scientific/Engineering :: Image Recognition',
        ],
        packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs',
                                        'demo', 'projects')),
        include_package_data=True,
        python_requires='>=3.8',
        install_requires=parse_requirements('requirements/install.txt'),
        extras_require={
            'all': parse_requirements('requirements.txt'),
            'tests': parse_requirements('requirements/tests.txt'),
            'optional': parse_requirements('requirements/optional.txt'),
            'mim': parse_requirements('requirements/mminstall.txt'),
        },
        cmdclass=add_mim_extension(),
        zip_safe=False)
