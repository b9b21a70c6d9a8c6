"""Pictures of validation and test predictions (``tools/test.py --show-dir``)."""
import os.path as osp
import warnings
from typing import Optional, Sequence

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
    from mmmae.visualization.depth_colormap import colorize_depth
    buf = fileio.get(path, backend_args=backend_args)
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f'cannot decode {path} for visualisation')
    if img.dtype == np.uint16 and img.ndim == 2:
        return colorize_depth(img.astype(np.float32) / depth_scale)
    if img.dtype != np.uint8:
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(
            np.uint8)
    if img.ndim == 2:
        return np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., 2::-1])  # BGR(A) -> RGB


@HOOKS.register_module()
class MultiTaskVisualizationHook(Hook):
    """Draws input | labels | depth for validation and test samples.

    As mmseg's ``SegVisualizationHook``: in validation the first sample of
    every ``interval``-th batch goes to the visualizer's backends; in test
    every sample is drawn. With ``show_dir`` each test picture is also
    written to ``show_dir/<image name>.png`` (what ``tools/test.py
    --show-dir`` asks for).

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
        outputs: data samples with gt/pred fields -> (H, n W, 3) pictures
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

    def _image(self, sample) -> np.ndarray:
        path = sample.metainfo.get('img_path')
        if path is None:
            raise KeyError('MultiTaskVisualizationHook needs img_path in the '
                           'data samples\' metainfo')
        return read_display_image(path, self.backend_args)

    def after_val_iter(self, runner, batch_idx: int, data_batch: dict,
                       outputs: Sequence) -> None:
        if not self.draw or not outputs:
            return
        step = runner.iter + batch_idx
        if step % self.interval:
            return
        sample = outputs[0]
        name = osp.basename(sample.metainfo.get('img_path', f'{batch_idx}'))
        self._visualizer.add_datasample(
            f'val_{name}', self._image(sample), data_sample=sample,
            show=self.show, wait_time=self.wait_time, step=step,
            with_labels=self.with_labels)

    def before_test(self, runner) -> None:
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
            path = sample.metainfo.get('img_path', f'{self._test_index}.png')
            stem = osp.splitext(osp.basename(path))[0]
            out_file = None
            if self.show_dir is not None:
                out_file = osp.join(self.show_dir, f'{stem}.png')
                # show_dir may be the image folder: never draw over inputs.
                check_outputs_spare_inputs([out_file], dict(image=path))
            self._visualizer.add_datasample(
                f'test_{stem}', self._image(sample), data_sample=sample,
                show=self.show, wait_time=self.wait_time, out_file=out_file,
                step=self._test_index, with_labels=self.with_labels)
