"""Geometric transforms applied identically to every modality and target.

Each transform draws its random parameters once per sample and applies them
to all maps listed in ``results['field_kinds']`` (see ``_fields.py``), with
bilinear interpolation for rgb, nearest for depth, labels, boundaries and
saliency, and renormalised bilinear for normals (see ``_fields.py``; a flip
also negates the normals' flipped axis). Sizes follow
mmseg: ``scale`` is (w, h) as in ``Resize``; ``crop_size``/``size`` are
(h, w) as in ``RandomCrop``.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.image import rescale_size
from mmcv.transforms import BaseTransform

from mmmae.registry import TRANSFORMS
from ._fields import (PAD_VALUE, apply_to_fields, first_shape, flip_map,
                      resize_map, spatial_fields)


def _pair(size, name) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    if len(size) != 2:
        raise ValueError(f'{name} must be an int or a pair, got {size}')
    return int(size[0]), int(size[1])


def _resize_all(results: dict, scale_wh, keep_ratio: bool) -> dict:
    """Resize every map to ``scale_wh`` (w, h), or within it if keep_ratio."""
    h, w = first_shape(results)
    if keep_ratio:
        new_w, new_h = rescale_size((w, h), tuple(scale_wh))
    else:
        new_w, new_h = int(scale_wh[0]), int(scale_wh[1])
    new_w, new_h = max(new_w, 1), max(new_h, 1)
    apply_to_fields(results,
                    lambda a, kind: resize_map(a, kind, (new_h, new_w)))
    results['scale'] = (new_w, new_h)
    results['scale_factor'] = (new_w / w, new_h / h)
    results['keep_ratio'] = keep_ratio
    return results


def pad_map(arr: np.ndarray, th: int, tw: int, value) -> np.ndarray:
    """Pad a map at the bottom and right to (th, tw) with ``value``.

    The result equals ``np.pad(arr, ((0, th - h), (0, tw - w), ...),
    constant_values=value)`` (the value is cast as np.pad casts it) with
    one allocation and one copy; a map already (th, tw) is returned as is.

    Shapes:
        arr (h, w[, C]) -> (th, tw[, C]), th >= h, tw >= w
    """
    h, w = arr.shape[:2]
    if (h, w) == (th, tw):
        return arr
    if np.size(value) != 1:  # np.pad's per-side pairs: its own code
        pad = ((0, th - h), (0, tw - w)) + ((0, 0),) * (arr.ndim - 2)
        return np.pad(arr, pad, constant_values=value)
    value = np.array(value).ravel()[0]  # as np.pad takes it
    out = np.empty((th, tw) + arr.shape[2:], arr.dtype)
    out[:h, :w] = arr
    out[:h, w:] = value
    out[h:] = value
    return out


def _crop_all(results: dict, y0: int, x0: int, h: int, w: int) -> dict:
    return apply_to_fields(results, lambda a, kind: a[y0:y0 + h, x0:x0 + w])


@TRANSFORMS.register_module()
class MultiModalResize(BaseTransform):
    """Resize all modalities to one size.

    Args:
        scale (tuple): (w, h). With ``keep_ratio`` the image is scaled as
            large as possible with its long edge <= max(scale) and short edge
            <= min(scale) (mmcv's rule), e.g. (2048, 256) gives short side 256.
        keep_ratio (bool): Keep the aspect ratio. Default True.

    Shapes:
        maps (H, W[, C]) -> (h', w'[, C]); sets img_shape, scale_factor
    """

    def __init__(self, scale: Sequence[int], keep_ratio: bool = True):
        self.scale = tuple(_pair(scale, 'scale'))
        self.keep_ratio = keep_ratio

    def transform(self, results: dict) -> dict:
        return _resize_all(results, self.scale, self.keep_ratio)

    def __repr__(self):
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'keep_ratio={self.keep_ratio})')


@TRANSFORMS.register_module()
class MultiModalRandomResize(BaseTransform):
    """Scale jitter: resize to ``scale * r`` with r ~ U(ratio_range).

    Args:
        scale (tuple, optional): Base (w, h). None scales the current size
            by r (albumentations' ``RandomScale``, MultiMAE's large scale
            jitter).
        ratio_range (tuple): (min, max) ratio, e.g. (0.1, 2.0) as in
            MultiMAE's semseg fine-tuning.
        keep_ratio (bool): Keep the aspect ratio. Default True.

    Shapes:
        maps (H, W[, C]) -> (h', w'[, C])
    """

    def __init__(self, scale: Optional[Sequence[int]] = None,
                 ratio_range: Tuple[float, float] = (0.5, 2.0),
                 keep_ratio: bool = True):
        self.scale = None if scale is None else _pair(scale, 'scale')
        lo, hi = ratio_range
        if not 0 < lo <= hi:
            raise ValueError(f'ratio_range must be 0 < min <= max, got '
                             f'{ratio_range}')
        self.ratio_range = (float(lo), float(hi))
        self.keep_ratio = keep_ratio

    def transform(self, results: dict) -> dict:
        ratio = np.random.uniform(*self.ratio_range)
        if self.scale is None:
            h, w = first_shape(results)
            base = (w, h)
        else:
            base = self.scale
        target = (int(round(base[0] * ratio)), int(round(base[1] * ratio)))
        return _resize_all(results, target, self.keep_ratio)

    def __repr__(self):
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'ratio_range={self.ratio_range}, '
                f'keep_ratio={self.keep_ratio})')


@TRANSFORMS.register_module()
class MultiModalRandomCrop(BaseTransform):
    """Random crop of the same window from every modality.

    A side smaller than the crop is kept whole (pad afterwards with
    ``MultiModalPad``), as mmseg's ``RandomCrop`` does.

    Args:
        crop_size (int | tuple): (h, w).
        cat_max_ratio (float): Retry (up to 10 times) while one class covers
            more than this share of the labelled pixels of the crop, read
            from ``seg_key``. 1.0 disables it. Default 1.0.
        ignore_index (int): Ignored when counting classes. Default 255.
        seg_key (str): Label map used by ``cat_max_ratio``. Default
            ``'gt_seg_map'``.

    Shapes:
        maps (H, W[, C]) -> (min(H, h), min(W, w)[, C])
    """

    def __init__(self, crop_size: Union[int, Sequence[int]],
                 cat_max_ratio: float = 1.,
                 ignore_index: int = 255,
                 seg_key: str = 'gt_seg_map'):
        self.crop_size = _pair(crop_size, 'crop_size')
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index
        self.seg_key = seg_key

    def _window(self, h, w):
        ch, cw = min(h, self.crop_size[0]), min(w, self.crop_size[1])
        y0 = np.random.randint(0, h - ch + 1)
        x0 = np.random.randint(0, w - cw + 1)
        return y0, x0, ch, cw

    def _too_uniform(self, seg, win) -> bool:
        y0, x0, ch, cw = win
        labels, counts = np.unique(seg[y0:y0 + ch, x0:x0 + cw],
                                   return_counts=True)
        counts = counts[labels != self.ignore_index]
        # As mmseg: accept only crops with several classes, none dominant.
        return not (len(counts) > 1 and
                    counts.max() / counts.sum() < self.cat_max_ratio)

    def transform(self, results: dict) -> dict:
        h, w = first_shape(results)
        win = self._window(h, w)
        seg = results.get(self.seg_key)
        if self.cat_max_ratio < 1. and seg is not None:
            for _ in range(10):
                if not self._too_uniform(seg, win):
                    break
                win = self._window(h, w)
        return _crop_all(results, *win)

    def __repr__(self):
        return (f'{self.__class__.__name__}(crop_size={self.crop_size}, '
                f'cat_max_ratio={self.cat_max_ratio})')


@TRANSFORMS.register_module()
class MultiModalCenterCrop(BaseTransform):
    """Centre crop of every modality (a side smaller than the crop is kept).

    Args:
        crop_size (int | tuple): (h, w).

    Shapes:
        maps (H, W[, C]) -> (min(H, h), min(W, w)[, C])
    """

    def __init__(self, crop_size: Union[int, Sequence[int]]):
        self.crop_size = _pair(crop_size, 'crop_size')

    def transform(self, results: dict) -> dict:
        h, w = first_shape(results)
        ch, cw = min(h, self.crop_size[0]), min(w, self.crop_size[1])
        return _crop_all(results, (h - ch) // 2, (w - cw) // 2, ch, cw)

    def __repr__(self):
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class MultiModalRandomFlip(BaseTransform):
    """Flip every modality together with probability ``prob``.

    Normals maps also change sign along the flipped axis (x for horizontal),
    so they keep pointing the way the mirrored surface faces.

    ``results['flip']`` records whether the sample is flipped overall (two
    flips cancel), which mmseg's segmentors read to un-flip predictions.

    Args:
        prob (float): Flip probability. Default 0.5.
        direction (str): 'horizontal' or 'vertical'. Default 'horizontal'.

    Shapes:
        maps (H, W[, C]) -> (H, W[, C])
    """

    def __init__(self, prob: float = 0.5, direction: str = 'horizontal'):
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f'direction must be horizontal or vertical, got '
                             f'{direction}')
        self.prob = prob
        self.direction = direction

    def transform(self, results: dict) -> dict:
        results.setdefault('flip', False)
        results.setdefault('flip_direction', None)
        if np.random.rand() >= self.prob:
            return results
        apply_to_fields(results,
                        lambda a, kind: flip_map(a, kind, self.direction))
        results['flip'] = not results['flip']
        results['flip_direction'] = self.direction
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'direction={self.direction})')


@TRANSFORMS.register_module()
class MultiModalRandomResizedCrop(BaseTransform):
    """Random resized crop shared by all modalities (MultiMAE pre-training).

    Draws a window of relative area in ``scale`` and aspect ratio in
    ``ratio`` (log-uniform), as torchvision's ``RandomResizedCrop``, then
    resizes it to ``size``.

    Args:
        size (int | tuple): Output (h, w).
        scale (tuple): Area range of the window. Default (0.2, 1.0), the
            MultiMAE recipe.
        ratio (tuple): Aspect ratio (w / h) range. Default (3/4, 4/3).
        max_attempts (int): Tries before falling back to a centre crop.

    Shapes:
        maps (H, W[, C]) -> (h, w[, C])
    """

    def __init__(self, size: Union[int, Sequence[int]],
                 scale: Tuple[float, float] = (0.2, 1.0),
                 ratio: Tuple[float, float] = (3 / 4, 4 / 3),
                 max_attempts: int = 10):
        self.size = _pair(size, 'size')
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f'scale must satisfy 0 < min <= max <= 1, got '
                             f'{scale}')
        self.scale = tuple(scale)
        self.ratio = tuple(ratio)
        self.max_attempts = max_attempts

    def _window(self, h: int, w: int):
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(self.max_attempts):
            target = area * np.random.uniform(*self.scale)
            aspect = math.exp(np.random.uniform(*log_ratio))
            cw = int(round(math.sqrt(target * aspect)))
            ch = int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return (np.random.randint(0, h - ch + 1),
                        np.random.randint(0, w - cw + 1), ch, cw)
        # Fallback: the largest centred window within the ratio range.
        aspect = w / h
        if aspect < self.ratio[0]:
            cw, ch = w, int(round(w / self.ratio[0]))
        elif aspect > self.ratio[1]:
            ch, cw = h, int(round(h * self.ratio[1]))
        else:
            ch, cw = h, w
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def transform(self, results: dict) -> dict:
        h, w = first_shape(results)
        y0, x0, ch, cw = self._window(h, w)
        _crop_all(results, y0, x0, ch, cw)
        apply_to_fields(results,
                        lambda a, kind: resize_map(a, kind, self.size))
        results['scale_factor'] = (self.size[1] / cw, self.size[0] / ch)
        results['crop_bbox'] = (x0, y0, x0 + cw, y0 + ch)
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'scale={self.scale}, ratio={self.ratio})')


@TRANSFORMS.register_module()
class MultiModalPad(BaseTransform):
    """Pad every modality at the bottom and right.

    rgb pads with 0, depth with 0 (= invalid, so losses and metrics skip it)
    and labels with 255 (ignore). Use it in training pipelines; at test time
    the data preprocessor pads and records the padding for the segmentor.

    Args:
        size (tuple, optional): Target (h, w).
        size_divisor (int, optional): Pad up to a multiple of this.
        pad_val (dict, optional): Override the padding value per kind
            (``image``, ``depth``, ``label``).

    Shapes:
        maps (H, W[, C]) -> (h, w[, C]); sets pad_shape
    """

    def __init__(self, size: Optional[Sequence[int]] = None,
                 size_divisor: Optional[int] = None,
                 pad_val: Optional[dict] = None):
        if (size is None) == (size_divisor is None):
            raise ValueError('give exactly one of size and size_divisor')
        self.size = None if size is None else _pair(size, 'size')
        self.size_divisor = size_divisor
        self.pad_val = dict(PAD_VALUE, **(pad_val or {}))

    def transform(self, results: dict) -> dict:
        h, w = first_shape(results)
        if self.size is not None:
            th, tw = max(h, self.size[0]), max(w, self.size[1])
        else:
            d = self.size_divisor
            th, tw = -(-h // d) * d, -(-w // d) * d
        for key, kind in spatial_fields(results).items():
            results[key] = pad_map(results[key], th, tw, self.pad_val[kind])
        results['pad_shape'] = (th, tw)
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'size_divisor={self.size_divisor}, pad_val={self.pad_val})')
