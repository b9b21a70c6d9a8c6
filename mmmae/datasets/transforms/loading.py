"""Loading of every modality and target, each by its kind's loader."""
from typing import Dict, Optional, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmmae.registry import TRANSFORMS
from ..modality_kinds import declare_modality_kinds, get_modality_kind
from . import loaders
from ._fields import KIND_OF_MODALITY, TARGET_KEYS
from .decoders import read_image

# Kept for callers of the old name: decodes any image file unchanged.
read_png = read_image


def apply_valid_mask(depth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``depth`` with 0 where ``mask`` is 0: the values of ``depth[mask ==
    0] = 0``, as a new array when OpenCV can do it, else in place.

    ``cv2.copyTo`` with a mask zero-fills the array it allocates (OpenCV's
    documented ``Mat::copyTo``) and copies the other pixels' bits, ~4x
    faster than numpy's boolean assignment, whose cost grows with how
    often the mask switches.

    Shapes:
        depth (H, W) float32, mask (H, W) -> (H, W) float32
    """
    if mask.dtype == np.uint8 and depth.ndim == 2 and \
            depth.dtype == np.float32:
        return cv2.copyTo(depth, mask)
    depth[mask == 0] = 0
    return depth


@TRANSFORMS.register_module()
class LoadMultiModalFromFile(BaseTransform):
    """Load the input modalities and/or the targets of one sample.

    Inputs are ``results['modalities']`` (any of rgb, depth, semseg) and go
    to ``results[<modality>]``. Targets are ``results['targets']`` (any of
    the tasks of ``mmmae.datasets.tasks``: semseg, depth, normals, edge,
    sal, parts) and go to their key (``gt_seg_map``, ``gt_depth_map``,
    ``gt_normals``, ``gt_edge``, ``gt_sal``, ``gt_parts``). File paths come
    from ``results['<name>_path']``; the format follows the suffix.

    Decoding:

    * rgb: 8-bit, returned in RGB order. Grey images are expanded to 3
      channels and an alpha channel is dropped.
    * depth: 16-bit PNG in ``1 / depth_scale`` metres (millimetres by
      default), returned in metres as float32; 0 means invalid. An 8-bit
      depth file is an error (it cannot hold metric depth). If
      ``results['mask_valid_path']`` is set, pixels where that mask is 0 are
      set to 0 (invalid).
    * semseg: 8- or 16-bit single channel. With ``reduce_zero_label``
      (NYUv2), 0 = unlabelled -> ``ignore_index`` and 1..num_classes ->
      0..num_classes-1; otherwise values are kept. ``ignore_index`` on disk
      stays ignore. Any other value above the classes is an error.
    * parts: as semseg without ``reduce_zero_label`` (0 = background), with
      ``results['parts_num_classes']`` classes; a PASCAL-Part ``.mat`` is
      converted (``mmmae.datasets.pascal_parts``).
    * depth ``.npy``: float metres (NYUD-MT).
    * normals: 8/16-bit RGB PNG ``(n + 1) / 2 * max`` or float ``.npy``
      (H, W, 3). Lengths below ``normals_zero_tol`` are invalid (0 vector);
      every other pixel must be unit length within ``normals_unit_tol``
      (else an error names the file) and is renormalised. With
      ``results['normals_label_path']`` (a ``.mat`` ``LabelMap``) and
      ``results['normals_valid_labels']``, normals are kept only on those
      labels (PASCAL-Context).
    * edge: {0, 255} 8-bit PNG or {0, 1} map (255 = ignore) -> {0, 1};
      anything else is an error naming the file. A ``.mat`` ``LabelMap``
      gives its thinned Laplacian boundaries (PASCAL-Context).
    * sal: grey PNG, 1 where ``v / 255 > 0.5``.

    * semseg / parts with more than 255 classes: 16-bit PNGs; ids above 255
      come out as uint16 (never wrapped to 8 bits), and a value beyond the
      classes is an error naming the file and the value.

    Any other modality (or a built-in name mapped to another kind) is loaded
    by its kind's loader (``mmmae.datasets.modality_kinds``,
    ``mmmae.datasets.transforms.loaders``), and its loaded channel count
    must match the kind's. ``results['field_kinds']`` records {key: kind}
    for the geometric transforms and the packing.

    All maps of a sample must have the same size; a mismatch names both
    files. To evaluate at the original resolution as mmseg does, load inputs
    (``load_targets=False``), resize, then load targets with a second
    ``LoadMultiModalFromFile(load_inputs=False)``.

    Args:
        load_inputs (bool): Load ``results['modalities']``. Default True.
        load_targets (bool): Load ``results['targets']``. Default True.
        depth_scale (float): Stored depth units per metre. Default 1000.
        reduce_zero_label (bool, optional): Label decoding (see above). None
            takes ``results['reduce_zero_label']``, else True.
        num_classes (int, optional): Valid classes after decoding. None
            takes ``results['num_classes']``; if absent, no range check.
        ignore_index (int): Ignore label. Default 255.
        normals_zero_tol (float): Shorter normals are invalid. Default 0.1.
        normals_unit_tol (float): Allowed |length - 1| of valid normals.
            Default 0.1.
        modality_kinds (dict, optional): {modality or task name: kind},
            where a kind is a registered name or a kind definition
            ``dict(name=..., base=..., loader=..., ...)`` that is registered
            here (the same definition again is a no-op), e.g.
            ``dict(ir='infrared')`` or ``dict(depth=dict(name='depth_tiff',
            base='depth', loader='depth_tiff'))``. Unmapped names use the
            built-in table (rgb -> image, semseg -> label, ...) or a kind of
            the same name.
        loader_args (dict, optional): Extra options for the loaders, e.g.
            ``dict(float_depth_scale=1000.)`` for float depth in mm.
        backend_args (dict, optional): mmengine file backend arguments.

    Shapes:
        files (H, W[, C]) -> rgb (H, W, 3) uint8, depth / gt_depth_map
        (H, W) float32 metres, semseg / gt_seg_map, gt_parts (H, W) uint8
        (uint16 beyond 255 classes), gt_normals (H, W, 3) float32, gt_edge /
        gt_sal (H, W) uint8; another kind: (H, W) or (H, W, C) as its loader
        returns
    """

    def __init__(self,
                 load_inputs: bool = True,
                 load_targets: bool = True,
                 depth_scale: float = 1000.,
                 reduce_zero_label: Optional[bool] = None,
                 num_classes: Optional[int] = None,
                 ignore_index: int = 255,
                 normals_zero_tol: float = 0.1,
                 normals_unit_tol: float = 0.1,
                 modality_kinds: Optional[Dict[str, Union[str, dict]]] = None,
                 loader_args: Optional[dict] = None,
                 backend_args: Optional[dict] = None):
        self.load_inputs = load_inputs
        self.load_targets = load_targets
        self.depth_scale = float(depth_scale)
        self.reduce_zero_label = reduce_zero_label
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.normals_tols = dict(zero_tol=normals_zero_tol,
                                 unit_tol=normals_unit_tol)
        self.modality_kinds = {}
        for name, kind in (modality_kinds or {}).items():
            try:
                self.modality_kinds[name] = declare_modality_kinds([kind])[0]
            except KeyError as err:
                raise type(err)(f'modality_kinds["{name}"]: '
                                f'{err.args[0]}') from None
            loaders.get_loader(get_modality_kind(self.modality_kinds[name]))
        # The kinds themselves, re-declared where this transform is
        # unpickled (a dataloader worker started by spawn).
        self._kinds = [get_modality_kind(k)
                       for k in self.modality_kinds.values()]
        self.options = dict(
            depth_scale=self.depth_scale, ignore_index=ignore_index,
            reduce_zero_label=reduce_zero_label, num_classes=num_classes,
            normals_zero_tol=normals_zero_tol,
            normals_unit_tol=normals_unit_tol, **(loader_args or {}))
        self.backend_args = backend_args

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        declare_modality_kinds(self._kinds)

    def _kind(self, name: str) -> str:
        kind = self.modality_kinds.get(name)
        return kind if kind is not None else KIND_OF_MODALITY[name]

    def _load(self, name: str, results: dict, shape=None,
              valid_mask: Optional[np.ndarray] = None):
        """``(array, whether its loader applied valid_mask)``."""
        path = results.get(f'{name}_path')
        if not path:
            raise KeyError(f'no "{name}_path" in the sample '
                           f'{results.get("img_path", "")}: the dataset did '
                           f'not provide a {name} file')
        kind = get_modality_kind(self._kind(name))
        options = dict(self.options, **dict(kind.loader_args))
        ctx = loaders.LoadContext(name=name, kind=kind, results=results,
                                  options=options,
                                  backend_args=self.backend_args,
                                  shape=shape, valid_mask=valid_mask)
        arr = loaders.get_loader(kind)(path, ctx)
        channels = 1 if arr.ndim == 2 else arr.shape[2]
        if kind.channels is not None and channels != kind.channels:
            raise ValueError(
                f'{path}: {name} (kind "{kind.name}") must have '
                f'{kind.channels} channel(s), loader "{kind.loader}" gave '
                f'shape {arr.shape}')
        return arr, ctx.mask_applied

    def _apply_mask_valid(self, results: dict, depth_path: str,
                          depth: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``depth`` with 0 (invalid) where ``mask`` (``mask_valid``) is
        0."""
        mask_path = results['mask_valid_path']
        if mask.ndim != 2:
            raise ValueError(f'{mask_path}: mask_valid must have one '
                             f'channel, got shape {mask.shape}')
        self._check_same_size(depth_path, depth, mask_path, mask)
        return apply_valid_mask(depth, mask)

    @staticmethod
    def _check_same_size(path_a, arr_a, path_b, arr_b):
        if arr_a.shape[:2] != arr_b.shape[:2]:
            raise ValueError(
                f'size mismatch: {path_a} is {arr_a.shape[1]}x'
                f'{arr_a.shape[0]} (WxH) but {path_b} is {arr_b.shape[1]}x'
                f'{arr_b.shape[0]}')

    def transform(self, results: dict) -> dict:
        kinds = dict(results.get('field_kinds') or {})
        loaded = {}  # name -> (path, array): one read per file
        keys, names = [], []
        if self.load_inputs:
            names += [(m, m) for m in results['modalities']]
        if self.load_targets:
            names += [(t, TARGET_KEYS.get(t, t))
                      for t in results.get('targets', ())]
        # mask_valid is read first so that the depth loader can apply it
        # to the raw values (``LoadContext.valid_mask``).
        mask = read_png(results['mask_valid_path'], self.backend_args) \
            if results.get('mask_valid_path') and \
            any(name == 'depth' for name, _ in names) else None
        masked = False
        for name, key in names:
            if name not in self.modality_kinds and \
                    name not in KIND_OF_MODALITY:
                raise ValueError(
                    f'unknown modality or task "{name}" of '
                    f'{results.get("img_path")}; expected one of '
                    f'{sorted(KIND_OF_MODALITY)}, or map it to a kind: '
                    f'LoadMultiModalFromFile(modality_kinds=dict({name}='
                    '<kind>))')
            if name not in loaded:
                shape = next(iter(loaded.values()))[1].shape[:2] \
                    if loaded else results.get('ori_shape')
                arr, applied = self._load(
                    name, results, shape,
                    mask if name == 'depth' else None)
                masked |= applied  # only depth gets the mask
                loaded[name] = (results[f'{name}_path'], arr)
            keys.append((name, key))
            kinds[key] = self._kind(name)
        if not loaded:
            return results
        ref_path, ref = next(iter(loaded.values()))
        for path, arr in loaded.values():
            self._check_same_size(ref_path, ref, path, arr)
        if 'depth' in loaded and mask is not None and not masked:
            # Checked after the modalities so a size mismatch names them.
            path = loaded['depth'][0]
            loaded['depth'] = (path, self._apply_mask_valid(
                results, *loaded['depth'], mask))
        seen = set()
        for name, key in keys:
            arr = loaded[name][1]
            # An input that is also a target gets its own copy.
            results[key] = arr.copy() if name in seen else arr
            seen.add(name)
        if self.load_inputs:
            shape = ref.shape[:2]
            results['img_shape'] = shape
            results['ori_shape'] = shape
        elif 'ori_shape' in results and \
                tuple(results['ori_shape'][:2]) != ref.shape[:2]:
            raise ValueError(
                f'size mismatch: {ref_path} is {ref.shape[1]}x{ref.shape[0]} '
                f'(WxH) but the inputs of {results.get("img_path")} were '
                f'{results["ori_shape"][1]}x{results["ori_shape"][0]}')
        results['field_kinds'] = kinds
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(load_inputs={self.load_inputs}, '
                f'load_targets={self.load_targets}, '
                f'depth_scale={self.depth_scale}, '
                f'reduce_zero_label={self.reduce_zero_label}, '
                f'num_classes={self.num_classes}, '
                f'modality_kinds={self.modality_kinds})')
