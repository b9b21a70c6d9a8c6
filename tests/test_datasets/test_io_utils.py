"""Dataset writers' files go through mmmae.utils.atomic_io (fsync, rename)."""
import os

import cv2
import numpy as np

from mmmae.datasets import io_utils
from mmmae.utils import atomic_io


def test_png_and_bytes_are_written_through_atomic_io(tmp_path, monkeypatch):
    renamed = []
    real = atomic_io._publish

    def publish(tmp, path):
        renamed.append((os.path.dirname(tmp), os.path.basename(path)))
        real(tmp, path)

    monkeypatch.setattr(atomic_io, '_publish', publish)
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 0] = 200  # red in RGB
    io_utils.atomic_write_png(str(tmp_path / 'a.png'), rgb)
    io_utils.atomic_write_bytes(str(tmp_path / 'b.json'), b'{}')
    assert renamed == [(str(tmp_path), 'a.png'), (str(tmp_path), 'b.json')]
    assert cv2.imread(str(tmp_path / 'a.png'))[0, 0].tolist() == [0, 0, 200]
    assert sorted(os.listdir(tmp_path)) == ['a.png', 'b.json']
