"""Refuse output paths that would overwrite the inputs of a run.

``demo/image_demo.py --out-dir`` set to the input's folder once replaced
the input picture with its visualisation; ``tools/test.py --out`` pointed
at a dataset's label folder would replace the ground truth with the
predictions. These checks run before anything is written.
"""
import os.path as osp
from typing import Iterable, List, Mapping, Optional

__all__ = [
    'OutputOverwritesInputError', 'check_outputs_spare_inputs',
    'check_out_dir_outside', 'data_roots'
]


class OutputOverwritesInputError(ValueError):
    """An output path is an input file, or lies inside the input data."""


def _same_file(a: str, b: str) -> bool:
    if osp.exists(a) and osp.exists(b):
        return osp.samefile(a, b)  # also catches hard links
    return osp.realpath(a) == osp.realpath(b)


def check_outputs_spare_inputs(outputs: Iterable[str],
                               inputs: Mapping[str, Optional[str]]) -> None:
    """Raise if any path of ``outputs`` is one of the ``inputs`` files.

    Args:
        outputs (Iterable[str]): Files about to be written.
        inputs (Mapping[str, str | None]): What each input is (e.g.
            ``'img'``) -> its path; None entries are ignored.

    Raises:
        OutputOverwritesInputError: naming the output, the input and its
            role.
    """
    for out in outputs:
        for role, path in inputs.items():
            if path and _same_file(out, path):
                raise OutputOverwritesInputError(
                    f'the output file {out} is the input {role} {path}: '
                    'writing it would destroy the input. Choose another '
                    'output folder.')


def check_out_dir_outside(out_dir: str, data_root: Optional[str],
                          option: str) -> None:
    """Raise if ``out_dir`` is ``data_root`` or a folder inside it.

    Tools name their outputs after the input files (``<image name>.png``),
    so an output folder inside the data may replace dataset files.

    Args:
        out_dir (str): The output folder the user asked for.
        data_root (str | None): The dataset root; None skips the check.
        option (str): The command-line option, for the message.
    """
    if not data_root:
        return
    out, root = osp.realpath(out_dir), osp.realpath(data_root)
    if out == root or out.startswith(root.rstrip(osp.sep) + osp.sep):
        raise OutputOverwritesInputError(
            f'{option} {out_dir} is inside the dataset root {data_root}: '
            'outputs are named after the input files and could replace '
            'them. Choose a folder outside the dataset.')


def data_roots(dataset_cfg) -> List[str]:
    """Every ``data_root`` in a dataset config, wrappers included (e.g. the
    ``datasets`` of a ConcatDataset)."""
    found: List[str] = []
    if isinstance(dataset_cfg, Mapping):
        root = dataset_cfg.get('data_root')
        if isinstance(root, str) and root:
            found.append(root)
        for value in dataset_cfg.values():
            found += data_roots(value)
    elif isinstance(dataset_cfg, (list, tuple)):
        for value in dataset_cfg:
            found += data_roots(value)
    return list(dict.fromkeys(found))
