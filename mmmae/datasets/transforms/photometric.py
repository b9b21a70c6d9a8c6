"""Photometric augmentation of the rgb modality only.

Depth and labels are measurements, not appearance, so they are never touched.
The parameters follow torchvision's ``ColorJitter`` and ``RandomGrayscale``
(``MultiModalRandomGrayscale`` here); albumentations' ``ColorJitter`` and
``ToGray``, which MultiMAE's depth recipe uses, draw the same factors
(brightness, contrast and saturation from U(1 - x, 1 + x), a hue shift from
U(-hue, hue) of a turn, the four in random order) and use the same ITU-R
601 grey. Unlike albumentations, the image is rounded to 8 bits once at the
end rather than after each step.

``RGBColorJitter`` works in place and on the 256 levels where it can
(docs/performance.md); its output equals, bit for bit, the plain
one-new-array-per-step version (tests/.../test_photometric.py compares them).
"""
import math
from typing import Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmmae.registry import TRANSFORMS

_GREY = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma


def _grey(img: np.ndarray) -> np.ndarray:
    return img @ _GREY  # H W 3 -> H W


def _levels(lut):
    """The float32 value of each 8-bit level: ``lut`` (updated in place by
    the caller), or a fresh table of the levels themselves.

    Shapes:
        (256, ) float32
    """
    return np.arange(256, dtype=np.float32) if lut is None else lut


def _lut(u8: np.ndarray, table: np.ndarray,
         dst: Optional[np.ndarray] = None) -> np.ndarray:
    """``cv2.LUT(u8, table)`` with one table for every channel.

    A contiguous image is looked up as one (H, W * C) channel: OpenCV's
    single-channel loop, ~25% faster, the same values.

    Shapes:
        u8 (H, W[, C]) uint8, table (256, ) -> (H, W[, C]) table's dtype
    """
    if u8.ndim == 3 and u8.flags.c_contiguous and (
            dst is None or dst.flags.c_contiguous):
        flat = None if dst is None else dst.reshape(u8.shape[0], -1)
        return cv2.LUT(u8.reshape(u8.shape[0], -1), table,
                       dst=flat).reshape(u8.shape)
    return cv2.LUT(u8, table, dst=dst)


def _hue_lut(shift: float) -> np.ndarray:
    """cv2.LUT table shifting the hue channel of an 8-bit HSV image.

    Each hue value h becomes ``uint8((float32(h) + shift) mod 180)``, the
    same float32 ops as on a whole channel, tabulated for the 256 values
    h can take.

    Shapes:
        (256, ) uint8
    """
    return np.mod(np.arange(256, dtype=np.float32) + shift,
                  180).astype(np.uint8)


# Pixels per block of the colour jitter's per-pixel work: a float32 block
# and its grey copy (~0.8 MB at 2 ** 15 pixels) stay in a core's L2 cache.
_BLOCK_PIXELS = 1 << 15
_BRIGHTNESS, _CONTRAST, _SATURATION, _HUE = range(4)


def _block_rows(height: int, width: int) -> int:
    """Rows of one block: about ``_BLOCK_PIXELS`` pixels, a multiple of 256.

    OpenCV's colour conversions and BLAS's dot products work in vector
    chunks of at most 256 pixels counted from the start of the array; with
    blocks of whole multiples of 256 pixels, every pixel falls at the same
    place in its chunk as in one whole-image call (the tests compare).
    """
    step = 256 // math.gcd(width, 256)
    return max(step, _BLOCK_PIXELS // max(width, 1) // step * step)


class _PixelProgram:
    """The per-pixel steps of a colour jitter, run block by block.

    A step maps an (h, W, 3) block to a block: uint8 ('lookup', 'hue',
    'lut_u8', 'trunc_u8', 'round_u8' change or keep the dtype) or float32
    ('mul', 'contrast', 'saturation' work in place). Each step is the same
    numpy / OpenCV call as on the whole image, so every pixel gets the same
    bits; only the passes over memory become passes over cache.
    """

    def __init__(self, base: np.ndarray):
        self.base, self.steps = base, []
        self.rows = _block_rows(*base.shape[:2])
        self._scratch = {}

    def _buffer(self, name: str, shape, dtype) -> np.ndarray:
        buf = self._scratch.get(name)
        if buf is None or buf.shape[1:] != shape[1:] or \
                buf.shape[0] < shape[0] or buf.dtype != dtype:
            buf = self._scratch[name] = np.empty(shape, dtype)
        return buf[:shape[0]]

    def _step(self, blk: np.ndarray, step: tuple,
              dst: Optional[np.ndarray] = None) -> np.ndarray:
        """One step on one block; a new block goes to ``dst`` when it has
        the step's output dtype (the last step writes the result there)."""
        kind = step[0]
        u8_dst = dst if dst is not None and dst.dtype == np.uint8 else None
        if kind == 'lookup':  # uint8 -> float32 values of the levels
            out = dst if dst is not None and dst.dtype == np.float32 else \
                self._buffer('float', blk.shape, np.float32)
            if step[1] is None:
                np.copyto(out, blk)
                return out
            return _lut(blk, step[1], out)
        if kind == 'mul':
            np.multiply(blk, step[1], out=blk)
        elif kind == 'contrast':
            _, mean, factor = step
            np.subtract(blk, mean, out=blk)
            np.multiply(blk, factor, out=blk)
            np.add(blk, mean, out=blk)
        elif kind == 'saturation':
            grey = self._buffer('grey', blk.shape[:2], np.float32)
            np.matmul(blk, _GREY, out=grey)
            # (h, W, 3) copy: numpy broadcasts (h, W, 1) 3x slower.
            grey3 = self._buffer('grey3', blk.shape, np.float32)
            cv2.merge((grey, grey, grey), dst=grey3)
            np.subtract(blk, grey3, out=blk)
            np.multiply(blk, step[1], out=blk)
            np.add(blk, grey3, out=blk)
        elif kind == 'trunc_u8':  # already clipped to [0, 255]
            out = u8_dst if u8_dst is not None else \
                self._buffer('u8', blk.shape, np.uint8)
            np.copyto(out, blk, casting='unsafe')
            return out
        elif kind == 'lut_u8':
            return _lut(blk, step[1], u8_dst)
        elif kind == 'hue':
            # OpenCV writes into a dst of the right shape and type (these
            # are) and returns it; otherwise it returns a new array.
            hsv = cv2.cvtColor(blk, cv2.COLOR_RGB2HSV, dst=self._buffer(
                'hsv', blk.shape, np.uint8))
            hue = cv2.extractChannel(hsv, 0, dst=self._buffer(
                'hue', blk.shape[:2], np.uint8))
            hue = cv2.LUT(hue, step[1], dst=hue)
            hsv = cv2.insertChannel(hue, hsv, 0)
            return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB, dst=u8_dst)
        elif kind == 'round_u8':
            # = round().astype(np.uint8) on [0, 255] (both round half to
            # even), in one pass; checked for every float32 there.
            return cv2.convertScaleAbs(blk, dst=u8_dst)
        np.clip(blk, 0, 255, out=blk)  # after mul, contrast, saturation
        return blk

    def run(self, out: Optional[np.ndarray] = None,
            grey: Optional[np.ndarray] = None) -> None:
        """Apply the steps to ``base``, writing each block's result into
        ``out`` and/or its ITU-R 601 grey into ``grey`` (full-size
        arrays); then the steps so far are done (``base`` = ``out``)."""
        last = len(self.steps) - 1
        for y in range(0, self.base.shape[0], self.rows):
            blk = self.base[y:y + self.rows]
            dst = None if out is None else out[y:y + self.rows]
            for i, step in enumerate(self.steps):
                blk = self._step(blk, step, dst if i == last else None)
            if grey is not None:
                np.matmul(blk, _GREY, out=grey[y:y + self.rows])
            if dst is not None and not np.may_share_memory(blk, dst):
                dst[...] = blk
        if out is not None:
            self.base, self.steps = out, []


@TRANSFORMS.register_module()
class RGBColorJitter(BaseTransform):
    """Random brightness, contrast, saturation and hue of ``results[key]``.

    Each factor is drawn as in torchvision: brightness, contrast and
    saturation from U(max(0, 1 - x), 1 + x), hue shift from U(-hue, hue) of a
    full turn; the four are applied in random order.

    Args:
        brightness (float): Default 0.4.
        contrast (float): Default 0.4.
        saturation (float): Default 0.4.
        hue (float): At most 0.5. Default 0.1.
        prob (float): Probability to apply at all. Default 0.8.
        key (str): The rgb key. Default 'rgb'.

    Shapes:
        rgb (H, W, 3) uint8 -> (H, W, 3) uint8
    """

    def __init__(self, brightness: float = 0.4, contrast: float = 0.4,
                 saturation: float = 0.4, hue: float = 0.1,
                 prob: float = 0.8, key: str = 'rgb'):
        if not 0 <= hue <= 0.5:
            raise ValueError(f'hue must be in [0, 0.5], got {hue}')
        self.brightness, self.contrast = brightness, contrast
        self.saturation, self.hue = saturation, hue
        self.prob, self.key = prob, key

    @staticmethod
    def _factor(x: float) -> float:
        return np.random.uniform(max(0., 1 - x), 1 + x)

    def _draw(self) -> list:
        """[(op, factor or hue shift)] in the order of application, drawn
        in that order (the draws never depend on the image)."""
        ops = []
        for op in np.random.permutation(4):
            if op == _BRIGHTNESS and self.brightness > 0:
                ops.append((op, self._factor(self.brightness)))
            elif op == _CONTRAST and self.contrast > 0:
                ops.append((op, self._factor(self.contrast)))
            elif op == _SATURATION and self.saturation > 0:
                ops.append((op, self._factor(self.saturation)))
            elif op == _HUE and self.hue > 0:
                ops.append((op, np.random.uniform(-self.hue, self.hue) * 180))
        return ops

    def transform(self, results: dict) -> dict:
        if self.key not in results or np.random.rand() >= self.prob:
            return results
        u8 = results[self.key]
        if u8.dtype != np.uint8:
            raise TypeError(f'RGBColorJitter: results["{self.key}"] of '
                            f'{results.get("img_path")} must be uint8, got '
                            f'{u8.dtype}')
        results[self.key] = self._jitter(u8, self._draw())
        return results

    @staticmethod
    def _jitter(u8: np.ndarray, ops: list) -> np.ndarray:
        # While every pixel is a function of its 8-bit level (before the
        # first per-pixel op, after a hue shift) the image is the program's
        # uint8 result plus the float32 value of each of the 256 levels
        # (``lut``; None = the level itself), and brightness and contrast
        # act on the 256 levels only. Every value goes through the same
        # float32 ops in the same order as ``img = (img - m) * f + m`` on
        # the whole image would take it, so the result is bit-identical to
        # the plain version (the tests compare them); only passes over
        # memory are saved.
        prog, lut, is_float = _PixelProgram(u8), None, False
        shape = u8.shape
        for op, value in ops:
            if op == _BRIGHTNESS and not is_float:
                lut = _levels(lut)
                np.multiply(lut, value, out=lut)
                np.clip(lut, 0, 255, out=lut)
            elif op == _BRIGHTNESS:
                prog.steps.append(('mul', value))
            elif op == _CONTRAST:
                # The mean grey of the whole image as it is now.
                grey = np.empty(shape[:2], np.float32)
                if is_float:
                    # The float32 image is ours once materialised: reuse it.
                    prog.run(out=prog.base if prog.base.dtype == np.float32
                             else np.empty(shape, np.float32), grey=grey)
                    prog.steps.append(('contrast', grey.mean(), value))
                    continue
                if prog.steps:  # a hue shift: keep its uint8 result
                    prog.run(out=np.empty(shape, np.uint8))
                # No table yet: the levels themselves, a plain cast.
                prog.steps.append(('lookup', lut))
                prog.run(grey=grey)
                prog.steps.pop()
                lut = _levels(lut)
                mean = grey.mean()  # float32 scalar
                np.subtract(lut, mean, out=lut)
                np.multiply(lut, value, out=lut)
                np.add(lut, mean, out=lut)
                np.clip(lut, 0, 255, out=lut)
            elif op == _SATURATION:
                if not is_float:
                    prog.steps.append(('lookup', lut))
                    lut, is_float = None, True
                prog.steps.append(('saturation', value))
            elif op == _HUE:
                if is_float:
                    prog.steps.append(('trunc_u8', ))
                elif lut is not None:
                    prog.steps.append(('lut_u8', lut.astype(np.uint8)))
                prog.steps.append(('hue', _hue_lut(value)))
                lut, is_float = None, False
        if is_float:
            prog.steps.append(('round_u8', ))
        elif lut is not None:
            prog.steps.append(
                ('lut_u8', cv2.convertScaleAbs(lut[None]).ravel()))
        if not prog.steps:
            return prog.base
        out = np.empty(shape, np.uint8)
        prog.run(out=out)
        return out

    def __repr__(self):
        return (f'{self.__class__.__name__}(brightness={self.brightness}, '
                f'contrast={self.contrast}, saturation={self.saturation}, '
                f'hue={self.hue}, prob={self.prob})')


@TRANSFORMS.register_module()
class MultiModalRandomGrayscale(BaseTransform):
    """Turn ``results[key]`` grey (kept 3-channel) with probability ``prob``.

    Args:
        prob (float): Default 0.1.
        key (str): The rgb key. Default 'rgb'.

    Shapes:
        rgb (H, W, 3) uint8 -> (H, W, 3) uint8
    """

    def __init__(self, prob: float = 0.1, key: str = 'rgb'):
        self.prob, self.key = prob, key

    def transform(self, results: dict) -> dict:
        if self.key in results and np.random.rand() < self.prob:
            grey = _grey(results[self.key].astype(np.float32))
            grey = np.clip(grey.round(), 0, 255).astype(np.uint8)
            results[self.key] = np.repeat(grey[..., None], 3, axis=2)
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(prob={self.prob})'
