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


def _lookup(u8: np.ndarray, lut) -> np.ndarray:
    """The float32 image whose pixels are ``lut`` of the levels of ``u8``.

    Shapes:
        u8 (H, W, 3) uint8, lut (256, ) float32 -> (H, W, 3) float32
    """
    return u8.astype(np.float32) if lut is None else _lut(u8, lut)


def _lut(u8: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``cv2.LUT(u8, table)`` with one table for every channel.

    A contiguous image is looked up as one (H, W * C) channel: OpenCV's
    single-channel loop, ~25% faster, the same values.

    Shapes:
        u8 (H, W[, C]) uint8, table (256, ) -> (H, W[, C]) table's dtype
    """
    if u8.ndim == 3 and u8.flags.c_contiguous:
        return cv2.LUT(u8.reshape(u8.shape[0], -1), table).reshape(u8.shape)
    return cv2.LUT(u8, table)


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

    def transform(self, results: dict) -> dict:
        if self.key not in results or np.random.rand() >= self.prob:
            return results
        # While every pixel is a function of its 8-bit level (before the
        # first per-pixel op, after a hue shift) the image is ``u8`` plus
        # the float32 value of each of the 256 levels (``lut``; None = the
        # level itself), and brightness and contrast act on the 256 levels
        # only; otherwise it is one float32 buffer, updated in place. Every
        # value goes through the same float32 ops in the same order as
        # ``img = (img - m) * f + m`` on the whole image would take it, so
        # the result is bit-identical to the plain version (the tests
        # compare them); only passes over the image are saved.
        u8, lut, img = results[self.key], None, None
        if u8.dtype != np.uint8:
            raise TypeError(f'RGBColorJitter: results["{self.key}"] of '
                            f'{results.get("img_path")} must be uint8, got '
                            f'{u8.dtype}')
        for op in np.random.permutation(4):
            if op == 0 and self.brightness > 0:
                x = _levels(lut) if img is None else img
                np.multiply(x, self._factor(self.brightness), out=x)
            elif op == 1 and self.contrast > 0:
                x = _levels(lut) if img is None else img
                whole = _lookup(u8, x) if img is None else img
                mean = _grey(whole).mean()  # float32 scalar
                factor = self._factor(self.contrast)
                np.subtract(x, mean, out=x)
                np.multiply(x, factor, out=x)
                np.add(x, mean, out=x)
            elif op == 2 and self.saturation > 0:
                if img is None:
                    img, lut = _lookup(u8, lut), None
                x = img
                grey = _grey(img)
                # (H, W, 3) copy: numpy broadcasts (H, W, 1) 3x slower.
                grey = cv2.merge((grey, grey, grey))
                factor = self._factor(self.saturation)
                np.subtract(img, grey, out=img)
                np.multiply(img, factor, out=img)
                np.add(img, grey, out=img)
            elif op == 3 and self.hue > 0:
                # The image is already clipped to [0, 255]: truncate as
                # astype(np.uint8) does.
                if img is not None:
                    u8 = img.astype(np.uint8)
                elif lut is not None:
                    u8 = _lut(u8, lut.astype(np.uint8))
                hsv = cv2.cvtColor(u8, cv2.COLOR_RGB2HSV)
                shift = np.random.uniform(-self.hue, self.hue) * 180
                # Shift the hue channel in place (hsv is ours).
                hue = cv2.LUT(cv2.extractChannel(hsv, 0), _hue_lut(shift))
                u8 = cv2.cvtColor(cv2.insertChannel(hue, hsv, 0),
                                  cv2.COLOR_HSV2RGB)
                img = lut = None  # whole numbers in [0, 255]: no clip
                continue
            else:
                continue
            np.clip(x, 0, 255, out=x)
            if img is None:
                lut = x
        # = round().astype(np.uint8) on [0, 255] (both round half to even),
        # in one pass; checked for every float32 there.
        if img is not None:
            u8 = cv2.convertScaleAbs(img)
        elif lut is not None:
            u8 = _lut(u8, cv2.convertScaleAbs(lut[None]).ravel())
        results[self.key] = u8
        return results

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
