"""mmengine's ``LocalVisBackend`` with crash-safe picture and config files.

Registered in mmmae's scope under the same name, so every config that asks
for ``type='LocalVisBackend'`` (with ``default_scope='mmmae'``) gets it.
Pictures and the config copy are written to a temporary name, fsynced and
renamed (:mod:`mmmae.utils.atomic_io`); the scalar logs are appended to, as
in mmengine, and are not atomic (a kill can cut their last line only); a
full disk there raises :class:`~mmmae.utils.atomic_io.DiskFullError` naming
the log file.
"""
import os.path as osp

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.visualization import LocalVisBackend as _LocalVisBackend
from mmengine.visualization.vis_backend import force_init_env

from mmmae.registry import VISBACKENDS
from mmmae.utils import atomic_io


@VISBACKENDS.register_module(name='LocalVisBackend')
class AtomicLocalVisBackend(_LocalVisBackend):
    """``LocalVisBackend`` whose images and config copy are atomic.

    Shapes:
        add_image: image (H, W, 3) uint8 RGB -> ``<name>_<step>.png``
    """

    @force_init_env
    def add_config(self, config: Config, **kwargs) -> None:
        if self._config_save_file.endswith('.py'):
            atomic_io.atomic_write_text(self._config_save_file,
                                        config.pretty_text)
        else:  # json/yaml go through mmengine.dump -> the atomic backend
            config.dump(self._config_save_file)

    @force_init_env
    def add_image(self,
                  name: str,
                  image: np.ndarray,
                  step: int = 0,
                  **kwargs) -> None:
        if image.dtype != np.uint8:
            raise TypeError(f'LocalVisBackend.add_image: "{name}" must be '
                            f'uint8, got {image.dtype}')
        atomic_io.atomic_imwrite(
            osp.join(self._img_save_dir, f'{name}_{step}.png'),
            cv2.cvtColor(image, cv2.COLOR_RGB2BGR))

    def _dump(self, value_dict: dict, file_path: str,
              file_format: str) -> None:
        try:
            super()._dump(value_dict, file_path, file_format)
        except OSError as e:
            if e.errno not in atomic_io.DISK_FULL_ERRNOS:
                raise
            raise atomic_io.DiskFullError(
                e.errno, f'disk full while appending to the log {file_path}: '
                'no space left on its device. Free space, then resume.') from e
