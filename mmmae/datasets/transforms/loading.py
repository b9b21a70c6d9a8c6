"""Loading of rgb, depth, labels, normals, boundaries and saliency."""
from typing import Optional

import cv2
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform

from mmmae.registry import TRANSFORMS
from ..pascal_parts import read_human_parts
from ..tasks import TASK_FIELDS
from . import decoders
from ._fields import KIND_OF_MODALITY, TARGET_KEYS


def read_png(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """Decode an image file unchanged (bit depth and channels kept).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the bytes are not a decodable image (names ``path``).
    """
    try:
        buf = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError:
        raise FileNotFoundError(f'file not found: {path}') from None
    img = cv2.imdecode(np.frombuffer(buf, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f'cannot decode {path}: the file is corrupt or not '
                         'an image')
    return img


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
        backend_args (dict, optional): mmengine file backend arguments.

    Shapes:
        files (H, W[, C]) -> rgb (H, W, 3) uint8, depth / gt_depth_map
        (H, W) float32 metres, semseg / gt_seg_map, gt_parts (H, W) uint8,
        gt_normals (H, W, 3) float32, gt_edge / gt_sal (H, W) uint8
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
                 backend_args: Optional[dict] = None):
        self.load_inputs = load_inputs
        self.load_targets = load_targets
        self.depth_scale = float(depth_scale)
        self.reduce_zero_label = reduce_zero_label
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.normals_tols = dict(zero_tol=normals_zero_tol,
                                 unit_tol=normals_unit_tol)
        self.backend_args = backend_args

    # -- decoders -----------------------------------------------------------
    def _rgb(self, path: str) -> np.ndarray:
        img = read_png(path, self.backend_args)
        if img.dtype != np.uint8:
            raise ValueError(f'{path}: rgb must be 8-bit, got {img.dtype}')
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        elif img.shape[2] == 4:
            img = img[..., :3]
        elif img.shape[2] != 3:
            raise ValueError(f'{path}: rgb has {img.shape[2]} channels')
        return np.ascontiguousarray(img[..., ::-1])  # cv2 BGR -> RGB

    def _depth(self, path: str) -> np.ndarray:
        if path.endswith('.npy'):
            return decoders.depth_from_npy(path)
        raw = read_png(path, self.backend_args)
        if raw.ndim != 2:
            raise ValueError(f'{path}: depth must have one channel, got '
                             f'shape {raw.shape}')
        if raw.dtype != np.uint16:
            raise ValueError(
                f'{path}: depth is {raw.dtype}, expected a 16-bit PNG in '
                f'units of 1/{self.depth_scale:g} m (an 8-bit file cannot '
                'hold metric depth; was it saved as a visualisation?)')
        return raw.astype(np.float32) / self.depth_scale

    def _apply_mask_valid(self, results: dict, depth_path: str,
                          depth: np.ndarray) -> None:
        """Set depth to 0 (invalid) where ``mask_valid`` is 0, in place."""
        mask_path = results.get('mask_valid_path')
        if not mask_path:
            return
        mask = read_png(mask_path, self.backend_args)
        if mask.ndim != 2:
            raise ValueError(f'{mask_path}: mask_valid must have one '
                             f'channel, got shape {mask.shape}')
        self._check_same_size(depth_path, depth, mask_path, mask)
        depth[mask == 0] = 0

    def _labels(self, path: str, results: dict,
                task: str = 'semseg') -> np.ndarray:
        raw = read_png(path, self.backend_args)
        if raw.ndim != 2:
            raise ValueError(f'{path}: {task} must be a single-channel label '
                             f'map, got shape {raw.shape}')
        if task == 'parts':
            reduce, num_classes = False, results.get('parts_num_classes')
        else:
            reduce = self.reduce_zero_label
            if reduce is None:
                reduce = results.get('reduce_zero_label', True)
            num_classes = self.num_classes or results.get('num_classes')
        raw = raw.astype(np.int64)
        ignore = raw == self.ignore_index
        if reduce:
            ignore |= raw == 0
            labels = raw - 1
            top = num_classes  # largest valid value on disk
        else:
            labels = raw
            top = None if num_classes is None else num_classes - 1
        if top is not None:
            bad = ~ignore & (raw > top)
            if bad.any():
                raise ValueError(
                    f'{path}: label {int(raw[bad].max())} on disk is neither '
                    f'unlabelled nor a class (valid: '
                    f'{"1" if reduce else "0"}..{top}, unlabelled '
                    f'{"0 or " if reduce else ""}{self.ignore_index})')
        labels[ignore] = self.ignore_index
        return labels.astype(np.uint8 if self.ignore_index < 256 else np.int64)

    def _normals(self, path: str, results: dict) -> np.ndarray:
        if path.endswith('.npy'):
            normals = decoders.normals_from_array(
                decoders.load_npy(path), path, **self.normals_tols)
        else:
            raw = read_png(path, self.backend_args)
            if raw.ndim == 3:
                raw = raw[..., ::-1]  # cv2 BGR -> RGB = x, y, z
            normals = decoders.normals_from_png(raw, path,
                                                **self.normals_tols)
        label_path = results.get('normals_label_path')
        if label_path:
            normals = decoders.mask_normals(
                normals, decoders.mat_label_map(label_path),
                results['normals_valid_labels'], label_path)
        return normals

    def _edge(self, path: str) -> np.ndarray:
        if path.endswith('.mat'):
            return decoders.edge_from_mat(path)
        raw = decoders.load_npy(path) if path.endswith('.npy') else \
            read_png(path, self.backend_args)
        return decoders.binary_map(raw, path, 'edge', self.ignore_index)

    def _parts(self, path: str, results: dict, shape) -> np.ndarray:
        if path.endswith('.mat'):
            if shape is None:
                raise ValueError(f'{path}: load an image before the human '
                                 'parts of a .mat (its size is needed)')
            return read_human_parts(path, shape, self.ignore_index)
        return self._labels(path, results, 'parts')

    def _load(self, name: str, results: dict, shape=None) -> np.ndarray:
        path = results.get(f'{name}_path')
        if not path:
            raise KeyError(f'no "{name}_path" in the sample '
                           f'{results.get("img_path", "")}: the dataset did '
                           f'not provide a {name} file')
        if name == 'rgb':
            return self._rgb(path)
        if name == 'depth':
            return self._depth(path)
        if name == 'semseg':
            return self._labels(path, results)
        if name == 'normals':
            return self._normals(path, results)
        if name == 'edge':
            return self._edge(path)
        if name == 'sal':
            return decoders.saliency_from_png(
                read_png(path, self.backend_args), path)
        if name == 'parts':
            return self._parts(path, results, shape)
        raise ValueError(f'unknown modality "{name}"; expected rgb or one of '
                         f'{sorted(TASK_FIELDS)}')

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
        for name, key in names:
            if name not in KIND_OF_MODALITY:
                raise ValueError(f'unknown modality or task "{name}" of '
                                 f'{results.get("img_path")}; expected one '
                                 f'of {sorted(KIND_OF_MODALITY)}')
            if name not in loaded:
                shape = next(iter(loaded.values()))[1].shape[:2] \
                    if loaded else results.get('ori_shape')
                arr = self._load(name, results, shape)
                loaded[name] = (results[f'{name}_path'], arr)
            keys.append((name, key))
            kinds[key] = KIND_OF_MODALITY[name]
        if not loaded:
            return results
        ref_path, ref = next(iter(loaded.values()))
        for path, arr in loaded.values():
            self._check_same_size(ref_path, ref, path, arr)
        if 'depth' in loaded:
            # Checked after the modalities so a size mismatch names them.
            self._apply_mask_valid(results, *loaded['depth'])
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
                f'num_classes={self.num_classes})')
