"""Normalisation, padding and batching of multi-modal samples."""
from numbers import Number
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from torch import Tensor

from mmmae.registry import MODELS

if TYPE_CHECKING:
    from mmmae.datasets.modality_kinds import ModalityKind


def robust_standardize(depth: Tensor, trim: float = 0.1,
                       eps: float = 1e-6) -> Tensor:
    """Standardise one depth map by the mean/std of its trimmed valid values.

    As MultiMAE does for depth inputs and targets: the valid pixels (> 0) are
    sorted, the lowest and highest ``trim`` share are dropped, and the map is
    shifted and scaled by the mean and standard deviation of the rest.
    Invalid pixels become 0; a map without valid pixels becomes all 0.

    Args:
        depth (Tensor): Depth, 0 = invalid.
        trim (float): Share dropped at each end. Default 0.1.
        eps (float): Added to the variance (flat maps). Default 1e-6, as
            the reference code.

    Shapes:
        depth (..., H, W) -> (..., H, W), same shape
    """
    valid = depth > 0
    values = depth[valid]
    if values.numel() == 0:
        return torch.zeros_like(depth)
    values, _ = values.sort()
    n = values.numel()
    k = int(n * trim)
    kept = values[k:n - k] if n - 2 * k >= 2 else values
    mean = kept.mean()
    var = kept.var() if kept.numel() > 1 else kept.new_tensor(0.)
    out = (depth - mean) / torch.sqrt(var + eps)
    return torch.where(valid, out, torch.zeros_like(out))


@MODELS.register_module()
class MultiMAEDataPreprocessor(BaseDataPreprocessor):
    """Batch ``inputs={modality: ...}`` and mmseg data samples.

    Per modality:

    * rgb: ``(x - mean) / std`` (0-255 units, ImageNet statistics by
      default), padding 0;
    * depth (input): robustly standardised per image
      (:func:`robust_standardize`) when ``depth_norm='robust'``, padding 0;
      invalid pixels are 0 too;
    * semseg (input, pre-training): kept as class ids, padded with
      ``seg_pad_val`` and then taken to ``1 / semseg_stride`` resolution by
      nearest sampling (the centre pixel of each cell), as MultiMAE's semseg
      input adapter expects;
    * any other modality name: by its kind's ``normalize``
      (``mmmae.datasets.modality_kinds``): its ``mean``/``std`` unless given
      here, 'robust' as depth (``depth_norm=None`` turns it off),
      'class_ids' kept as int64, None only cast to float. The kind comes
      from ``modality_kinds``, else the packed samples'
      ``metainfo['modality_kinds']``; the built-in names (rgb, depth,
      semseg, normals, edge, sal, parts) keep the rules above.

    Every sample is padded at the bottom/right to the largest size in the
    batch, rounded up to ``size_divisor`` or raised to ``size``. In training
    ``gt_sem_seg`` (pad 255) and ``gt_depth_map`` (pad 0 = invalid) are
    padded alike; at test time ground truth stays at its original size and
    ``padding_size`` tells the segmentor what to crop off, as in mmseg's
    ``SegDataPreProcessor``. ``img_shape``, ``pad_shape``, ``padding_size``
    and ``batch_input_shape`` are written into each sample's metainfo.

    Args:
        mean (dict, optional): {modality: per-channel mean}. Default
            ImageNet mean for rgb.
        std (dict, optional): {modality: per-channel std}. Default ImageNet
            std for rgb.
        depth_norm (str, optional): 'robust' or None (keep metres).
            Default 'robust'.
        robust_trim (float): Share trimmed at each end. Default 0.1.
        semseg_stride (int): Downsampling of a semseg input. Default 4.
        size (tuple, optional): Pad to at least (h, w).
        size_divisor (int, optional): Pad to a multiple of this.
        pad_val (float): Padding of rgb (after normalisation). Default 0.
        seg_pad_val (int): Padding of labels. Default 255.
        depth_pad_val (float): Padding of depth. Default 0.
        test_cfg (dict, optional): ``size`` / ``size_divisor`` used instead
            when not training.
        non_blocking (bool): Asynchronous device copies. Default False.
        modality_kinds (dict, optional): {modality: kind name}.

    Shapes:
        inputs: {rgb: B x (3, H, W) uint8, depth: B x (1, H, W) float,
        semseg: B x (1, H, W) int} (lists or stacked)
        -> {rgb: (B, 3, H', W') float, depth: (B, 1, H', W') float,
        semseg: (B, H'/s, W'/s) long}
    """

    def __init__(self,
                 mean: Optional[Dict[str, Sequence[Number]]] = None,
                 std: Optional[Dict[str, Sequence[Number]]] = None,
                 depth_norm: Optional[str] = 'robust',
                 robust_trim: float = 0.1,
                 semseg_stride: int = 4,
                 size: Optional[Tuple[int, int]] = None,
                 size_divisor: Optional[int] = None,
                 pad_val: Number = 0,
                 seg_pad_val: int = 255,
                 depth_pad_val: Number = 0,
                 test_cfg: Optional[dict] = None,
                 non_blocking: bool = False,
                 modality_kinds: Optional[Dict[str, str]] = None):
        super().__init__(non_blocking)
        # Imported here: mmmae.datasets imports mmmae.models (losses) back.
        from mmmae.datasets.modality_kinds import IMAGENET_MEAN, IMAGENET_STD
        mean = dict(rgb=IMAGENET_MEAN) if mean is None else dict(mean)
        std = dict(rgb=IMAGENET_STD) if std is None else dict(std)
        if set(mean) != set(std):
            raise ValueError(f'mean has modalities {sorted(mean)} but std '
                             f'has {sorted(std)}')
        self.norm_modalities = tuple(mean)
        for m in self.norm_modalities:
            if len(mean[m]) != len(std[m]):
                raise ValueError(f'mean[{m}] and std[{m}] differ in length')
            self.register_buffer(f'{m}_mean', torch.tensor(
                mean[m], dtype=torch.float32).view(-1, 1, 1), False)
            self.register_buffer(f'{m}_std', torch.tensor(
                std[m], dtype=torch.float32).view(-1, 1, 1), False)
        if depth_norm not in ('robust', None):
            raise ValueError(f'depth_norm must be "robust" or None, got '
                             f'{depth_norm}')
        self.depth_norm = depth_norm
        self.robust_trim = robust_trim
        self.semseg_stride = semseg_stride
        self.size = size
        self.size_divisor = size_divisor
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val
        self.depth_pad_val = depth_pad_val
        self.test_cfg = test_cfg or {}
        self.modality_kinds = dict(modality_kinds or {})

    # -- per-sample steps ---------------------------------------------------
    def _kind(self, name: str, samples) -> Optional['ModalityKind']:
        """The kind of a modality that is not a built-in name, or None."""
        from mmmae.datasets.modality_kinds import (BUILTIN_KIND_OF,
                                                   get_modality_kind)
        if name in BUILTIN_KIND_OF:  # their rules above, as always
            return None
        kind = self.modality_kinds.get(name)
        if kind is None and samples:
            kind = samples[0].metainfo.get('modality_kinds', {}).get(name)
        return None if kind is None else get_modality_kind(kind)

    def _normalize(self, name: str, x: Tensor,
                   kind: Optional['ModalityKind'] = None) -> Tensor:
        norm = None if kind is None else kind.normalize
        if name == 'semseg' or norm == 'class_ids':
            return x.long()
        x = x.float()
        if (name == 'depth' or norm == 'robust') and \
                self.depth_norm == 'robust':
            x = robust_standardize(x, self.robust_trim)
        if name in self.norm_modalities:
            mean = getattr(self, f'{name}_mean')
            std = getattr(self, f'{name}_std')
        elif isinstance(norm, dict):  # the kind's statistics
            mean = x.new_tensor(norm['mean']).view(-1, 1, 1)
            std = x.new_tensor(norm['std']).view(-1, 1, 1)
        else:
            return x
        if mean.numel() != x.shape[0]:
            raise ValueError(
                f'modality "{name}" has {x.shape[0]} channels but its '
                f'mean/std have {mean.numel()}')
        return (x - mean) / std

    def _pad_value(self, name: str) -> Number:
        return dict(semseg=self.seg_pad_val,
                    depth=self.depth_pad_val).get(name, self.pad_val)

    def _target_size(self, shapes: List[Tuple[int, int]], training: bool,
                     has_semseg: bool):
        size, divisor = self.size, self.size_divisor
        if not training and self.test_cfg:
            size = self.test_cfg.get('size')
            divisor = self.test_cfg.get('size_divisor')
        h = max(s[0] for s in shapes)
        w = max(s[1] for s in shapes)
        if size is not None:
            h, w = max(h, size[0]), max(w, size[1])
        if divisor:
            h, w = -(-h // divisor) * divisor, -(-w // divisor) * divisor
        if has_semseg:
            s = self.semseg_stride
            h, w = -(-h // s) * s, -(-w // s) * s  # whole label cells
        return h, w

    @staticmethod
    def _as_list(name: str, value) -> List[Tensor]:
        if isinstance(value, Tensor):
            return list(value.unbind(0))
        if isinstance(value, (list, tuple)):
            return list(value)
        raise TypeError(f'inputs["{name}"] must be a tensor or a list of '
                        f'tensors, got {type(value).__name__}')

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if not isinstance(inputs, dict) or not inputs:
            raise TypeError('MultiMAEDataPreprocessor expects inputs as a '
                            'non-empty {modality: tensors} dict, got '
                            f'{type(inputs).__name__}')
        samples = data.get('data_samples')
        per_mod = {m: self._as_list(m, v) for m, v in inputs.items()}
        sizes = {len(v) for v in per_mod.values()}
        if len(sizes) != 1:
            raise ValueError('modalities hold different numbers of samples: '
                             f'{ {m: len(v) for m, v in per_mod.items()} }')
        batch = sizes.pop()
        shapes = []
        for i in range(batch):
            hw = {m: tuple(v[i].shape[-2:]) for m, v in per_mod.items()}
            if len(set(hw.values())) != 1:
                raise ValueError(f'sample {i}: modalities differ in size '
                                 f'(H, W): {hw}')
            shapes.append(next(iter(hw.values())))
        th, tw = self._target_size(shapes, training, 'semseg' in per_mod)

        out = {}
        for m, tensors in per_mod.items():
            padded = []
            kind = self._kind(m, samples)
            for x, (h, w) in zip(tensors, shapes):
                x = self._normalize(m, x, kind)
                if x.dim() == 2:
                    x = x[None]  # H W -> 1 H W
                padded.append(F.pad(x, (0, tw - w, 0, th - h),
                                    value=self._pad_value(m)))
            out[m] = torch.stack(padded)  # B C H W
        if 'semseg' in out:
            s = self.semseg_stride
            sem = out['semseg'][:, 0]  # B H W
            out['semseg'] = sem[:, s // 2::s, s // 2::s].contiguous() \
                if s > 1 else sem

        if samples is not None:
            for sample, (h, w) in zip(samples, shapes):
                padding = (0, tw - w, 0, th - h)
                if training:
                    self._pad_gt(sample, padding, (h, w))
                sample.set_metainfo(dict(
                    img_shape=(h, w), pad_shape=(th, tw),
                    padding_size=padding, batch_input_shape=(th, tw)))
        return dict(inputs=out, data_samples=samples)

    def _pad_gt(self, sample, padding, input_hw) -> None:
        for key, value in (('gt_sem_seg', self.seg_pad_val),
                           ('gt_depth_map', self.depth_pad_val)):
            if key in sample:
                data = getattr(sample, key).data
                if tuple(data.shape[-2:]) != tuple(input_hw):
                    raise ValueError(
                        f'{key} of {sample.metainfo.get("img_path")} is '
                        f'{tuple(data.shape[-2:])} but the inputs are '
                        f'{tuple(input_hw)}; in training pipelines load '
                        'targets before the geometric transforms')
                padded = F.pad(data, padding, value=value)
                field = getattr(sample, key)
                del field.data  # PixelData refuses a new shape otherwise
                field.data = padded
