"""Pictures of validation and test predictions (``tools/test.py --show-dir``)."""
import os
import os.path as osp
import warnings
from typing import Dict, Iterable, Optional, Sequence, Tuple

import cv2
import mmengine.fileio as fileio
import numpy as np
from mmengine.hooks import Hook
from mmengine.utils import mkdir_or_exist
from mmengine.visualization import Visualizer

from mmmae.registry import HOOKS
from mmmae.utils.output_guard import check_outputs_spare_inputs


def read_display_image(path: str, backend_args: Optional[dict] = None,
                       depth_scale: float = 1000.) -> np.ndarray:
    """The input picture of a sample as RGB uint8.

    An 8-bit file is read as an image; a 16-bit single-channel file (a depth
    input, for models that see no rgb) is drawn as a depth colour map.
    """
    return read_display_input(path, backend_args, depth_scale)[0]


def read_display_input(path: str, backend_args: Optional[dict] = None,
                       depth_scale: float = 1000.
                       ) -> Tuple[np.ndarray, str, Optional[np.ndarray]]:
    """(RGB uint8 picture, ``'rgb'`` or ``'depth'``, the depth in metres
    (H, W) or None) of an input file; see :func:`read_display_image`."""
    from mmmae.visualization.depth_colormap import colorize_depth
    buf = fileio.get(path, backend_args=backend_args)
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f'cannot decode {path} for visualisation')
    if img.dtype == np.uint16 and img.ndim == 2:
        depth = img.astype(np.float32) / depth_scale
        return colorize_depth(depth), 'depth', depth
    if img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(
            np.uint8)
    if img.ndim == 2:
        return np.repeat(img[..., None], 3, axis=2), 'rgb', None
    # BGR(A) -> RGB
    return np.ascontiguousarray(img[..., 2::-1]), 'rgb', None


def unique_stems(paths: Iterable[str]) -> Dict[str, str]:
    """path -> a file stem that no other path gets.

    The stem is the file name without extension, preceded by as many parent
    folders (joined with ``_``) as it takes to tell every path apart: NYUv2's
    ``test/rgb/0001.png`` stays ``0001``, while Office-Home style
    ``Art/red/0001.png`` and ``Clipart/red/0001.png`` become ``Art_red_0001``
    and ``Clipart_red_0001``.
    """
    paths = sorted(set(str(p) for p in paths))
    parts = {p: osp.normpath(osp.splitext(p)[0]).split(os.sep) for p in paths}
    longest = max((len(v) for v in parts.values()), default=1)
    for k in range(1, longest + 1):
        names = {p: '_'.join(v[-k:]).lstrip('_') or 'image'
                 for p, v in parts.items()}
        if len(set(names.values())) == len(names):
            return names
    return names  # distinct paths always differ within their full length


def _dataset_paths(runner) -> Tuple[str, ...]:
    """The ``img_path`` of every test sample, where the dataset tells."""
    try:
        dataset = runner.test_dataloader.dataset
        return tuple(dataset.get_data_info(i).get('img_path')
                     for i in range(len(dataset)))
    except (AttributeError, TypeError, KeyError, NotImplementedError):
        return ()


@HOOKS.register_module()
class MultiTaskVisualizationHook(Hook):
    """Draws input | labels | depth for validation and test samples.

    As mmseg's ``SegVisualizationHook``: in validation the first sample of
    every ``interval``-th batch goes to the visualizer's backends; in test
    every sample is drawn. With ``show_dir`` each test picture is also
    written to ``show_dir/<name>.png`` (what ``tools/test.py --show-dir``
    asks for), one file per test sample: ``<name>`` is the image's stem,
    preceded by its parent folders where stems repeat in the test set
    (:func:`unique_stems`: ``Art_red_0001`` for a multi-domain folder), and
    followed by ``_<index>`` should a name come back within one run (a
    dataset listing an image twice). The pictures are titled
    (``MultiTaskLocalVisualizer``): the input, then GT | prediction per
    task, or the true and predicted class of a classifier.

    Args:
        draw (bool): Draw at all. Defaults to False.
        interval (int): Validation batches between pictures. Defaults to 50.
        show (bool): Show in a window instead of storing. Defaults to False.
        wait_time (float): Seconds a shown window stays. Defaults to 0.
        show_dir (str, optional): Folder for the test pictures (relative to
            the current directory, as mmseg's ``--show-dir``).
        with_labels (bool): Write class names on the label overlays.
        backend_args (dict, optional): mmengine file backend arguments.

    Shapes:
        outputs: data samples with gt/pred fields -> (H', W', 3) pictures
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 50,
                 show: bool = False,
                 wait_time: float = 0.,
                 show_dir: Optional[str] = None,
                 with_labels: bool = False,
                 backend_args: Optional[dict] = None):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self._visualizer: Visualizer = Visualizer.get_current_instance()
        self.draw = draw
        self.interval = interval
        self.show = show
        if show:
            # Showing only: no backend should store the pictures.
            self._visualizer._vis_backends = {}
        self.wait_time = wait_time
        self.show_dir = show_dir
        self.with_labels = with_labels
        self.backend_args = backend_args.copy() if backend_args else None
        self._test_index = 0
        self._names: Dict[str, str] = {}
        self._used = set()

    def before_run(self, runner) -> None:
        # The runner's own visualizer: the "current instance" taken in
        # __init__ is whichever visualizer this process created last, which
        # need not be this runner's when several runners share a process.
        if runner.visualizer is not None:
            shown_only = self.show and not self._visualizer._vis_backends
            self._visualizer = runner.visualizer
            if shown_only:
                self._visualizer._vis_backends = {}

    def _image(self, sample) -> Tuple[np.ndarray, str, Optional[np.ndarray]]:
        """(the input picture, its title: ``input rgb (+depth)``, the depth
        in metres when the input shown is a depth map)."""
        path = sample.metainfo.get('img_path')
        if path is None:
            raise KeyError('MultiTaskVisualizationHook needs img_path in the '
                           'data samples\' metainfo')
        image, shown, depth = read_display_input(path, self.backend_args)
        others = [m for m in sample.metainfo.get('modalities') or ()
                  if m != shown]
        title = f'input {shown}' + (f' (+{"+".join(others)})'
                                    if others else '')
        return image, title, depth

    def _out_name(self, path: str) -> str:
        """A file stem no earlier picture of this run has taken."""
        name = self._names.get(str(path)) or osp.splitext(
            osp.basename(str(path)))[0]
        base, n = name, self._test_index
        while name in self._used:
            name, n = f'{base}_{n}', n + 1
        self._used.add(name)
        return name

    def after_val_iter(self, runner, batch_idx: int, data_batch: dict,
                       outputs: Sequence) -> None:
        if not self.draw or not outputs:
            return
        step = runner.iter + batch_idx
        if step % self.interval:
            return
        sample = outputs[0]
        name = osp.basename(sample.metainfo.get('img_path', f'{batch_idx}'))
        image, title, depth = self._image(sample)
        self._visualizer.add_datasample(
            f'val_{name}', image, data_sample=sample, show=self.show,
            wait_time=self.wait_time, step=step,
            with_labels=self.with_labels, input_title=title,
            input_depth=depth)

    def before_test(self, runner) -> None:
        self._test_index = 0
        self._used = set()
        self._names = {}
        if self.draw:
            # Stems that tell the test images apart, from the dataset's
            # list: the toy multi-domain test split (4 domains x 4 classes
            # x 8 images named from 0000..0015.png) gave 16 files for 128
            # images when the stem alone named them.
            self._names = unique_stems(p for p in _dataset_paths(runner)
                                       if p is not None)
        if self.draw and self.show_dir is not None:
            mkdir_or_exist(self.show_dir)
        elif self.show_dir is not None:
            warnings.warn('MultiTaskVisualizationHook: show_dir is set but '
                          'draw is False; no picture will be written')

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence) -> None:
        if not self.draw:
            return
        for sample in outputs:
            self._test_index += 1
            image, title, depth = self._image(sample)
            path = sample.metainfo['img_path']
            stem = self._out_name(path)
            out_file = None
            if self.show_dir is not None:
                out_file = osp.join(self.show_dir, f'{stem}.png')
                # show_dir may be the image folder: never draw over inputs.
                check_outputs_spare_inputs([out_file], dict(image=path))
            self._visualizer.add_datasample(
                f'test_{stem}', image, data_sample=sample, show=self.show,
                wait_time=self.wait_time, out_file=out_file,
                step=self._test_index, with_labels=self.with_labels,
                input_title=title, input_depth=depth)
