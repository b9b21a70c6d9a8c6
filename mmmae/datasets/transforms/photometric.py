"""Photometric augmentation of the rgb modality only.

Depth and labels are measurements, not appearance, so they are never touched.
The parameters follow torchvision's ``ColorJitter`` and ``MultiModalRandomGrayscale``;
albumentations' ``ColorJitter`` and ``ToGray``, which MultiMAE's depth
recipe uses, draw the same factors (brightness, contrast and saturation
from U(1 - x, 1 + x), a hue shift from U(-hue, hue) of a turn, the four in
random order) and use the same ITU-R 601 grey. Unlike albumentations, the
image is rounded to 8 bits once at the end rather than after each step.
"""
import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmmae.registry import TRANSFORMS

_GREY = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R 601 luma


def _grey(img: np.ndarray) -> np.ndarray:
    return img @ _GREY  # H W 3 -> H W


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
        img = results[self.key].astype(np.float32)
        for op in np.random.permutation(4):
            if op == 0 and self.brightness > 0:
                img = img * self._factor(self.brightness)
            elif op == 1 and self.contrast > 0:
                mean = _grey(img).mean()
                img = (img - mean) * self._factor(self.contrast) + mean
            elif op == 2 and self.saturation > 0:
                grey = _grey(img)[..., None]
                img = (img - grey) * self._factor(self.saturation) + grey
            elif op == 3 and self.hue > 0:
                hsv = cv2.cvtColor(np.clip(img, 0, 255).astype(np.uint8),
                                   cv2.COLOR_RGB2HSV)
                shift = np.random.uniform(-self.hue, self.hue) * 180
                hsv[..., 0] = np.mod(hsv[..., 0].astype(np.float32) + shift,
                                     180).astype(np.uint8)
                img = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
            img = np.clip(img, 0, 255)
        results[self.key] = img.round().astype(np.uint8)
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
