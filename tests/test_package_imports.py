"""Every subpackage imports on its own, in a fresh interpreter (a circular
import shows only when a subpackage is the first one imported)."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize('module', [
    'mmmae', 'mmmae.models', 'mmmae.datasets', 'mmmae.evaluation',
    'mmmae.engine', 'mmmae.apis', 'mmmae.visualization', 'mmmae.utils'])
def test_subpackage_imports_first(module):
    out = subprocess.run([sys.executable, '-c', f'import {module}'],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
