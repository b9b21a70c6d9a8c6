"""Inferencer of the dense multi-task models (``MultiTaskSegmentor``)."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch.nn as nn
from mmengine.logging import print_log

from mmmae.registry import INFERENCERS
from mmmae.utils.atomic_io import atomic_imwrite
from mmmae.visualization import annotate as A
from mmmae.visualization import depth_range
from mmmae.visualization.local_visualizer import _palette
from ..modalities import describe_modalities, restrict_input_modalities
from .base import MMMAEInferencer
from .drawing import LABEL_KINDS as CLASSIFICATION_KINDS
from .drawing import fit, task_panel


@INFERENCERS.register_module()
class MultiTaskDenseInferencer(MMMAEInferencer):
    """Depth, semantic labels, normals, edges, ... of every head, per image.

    Example::

        inferencer = MultiTaskDenseInferencer(
            'configs/multimae/<config>.py', 'work_dirs/<run>/iter_300.pth')
        out = inferencer(['a.png', dict(rgb='b.png', depth='b_d.png')],
                         batch_size=2, out_dir='outputs')
        out['predictions'][0]['depth']     # (H, W) float32 metres

    Args:
        model, weights, device, cfg_options, show_progress: See
            :class:`MMMAEInferencer`.
        modalities (Sequence[str] | str, optional): The inputs to use, a
            subset of the model's input adapters (e.g. ``('rgb', )`` for an
            RGB-D model); see :mod:`mmmae.apis.modalities`. Defaults to
            what the model was configured with.

    Inputs: an rgb image (path or (H, W, 3) uint8 RGB array), a folder of
    them, ``{modality: path | array | folder}`` (depth arrays: (H, W) float
    metres or uint16 millimetres), or a list.

    Returns (``__call__``): ``predictions``, per input ``{task: array}`` at
    the input's size: depth (H, W) float32 metres; segmentation / parts
    (H, W) int64 class ids; normals (H, W, 3) float32 unit vectors; boundary
    / saliency (H, W) float32 probabilities. ``visualization``: per input
    an (H', W', 3) RGB picture, three panels a row: the input(s) (``input
    rgb``; a depth input as ``input depth [m]``), then ``<task>
    prediction`` per task: depth with a colour bar in metres (the depth
    input's 2-98 % range when there is one, so input and prediction share
    the scale, else the prediction's), label maps with a legend of the
    classes present.

    Files in ``out_dir`` for an input named ``<name>``: ``<name>.png`` (the
    picture); ``<name>_<task>.png`` for depth (uint16 millimetres, or
    ``<name>_<task>.npy`` float metres with ``depth_format='npy'``) and for
    label maps (uint8 class ids, uint16 beyond 255 classes), each with a
    viewable twin ``<name>_<task>_vis.png`` (colour bar / legend);
    ``<name>_<task>.npy`` for normals, boundary and saliency.
    """

    visualize_kwargs = {'with_input'}
    postprocess_kwargs = {'depth_format'}

    def __init__(self, model, weights: Optional[str] = None,
                 device: str = 'cpu', cfg_options: Optional[dict] = None,
                 show_progress: bool = False,
                 modalities: Optional[Sequence[str]] = None) -> None:
        super().__init__(model, weights, device, cfg_options, show_progress)
        self.modalities_report = None
        if modalities is not None:
            self.modalities_report = restrict_input_modalities(
                self.model, modalities)
            print_log(describe_modalities(self.modalities_report),
                      logger='current')
        self.input_modalities = tuple(self.model.input_modalities
                                      or ('rgb', ))

    def _check_model(self, model: nn.Module) -> None:
        if not hasattr(model, 'pred_fields') or not hasattr(model,
                                                            'task_kind'):
            raise TypeError(
                f'MultiTaskDenseInferencer takes dense multi-task models '
                f'(MultiTaskSegmentor); {type(model).__name__} is not one '
                '(MultiMAEReconstructionInferencer and '
                'MultiTaskCLIPInferencer serve the other families)')

    def _init_pipeline(self, cfg):
        return self._multimodal_pipeline(cfg)

    def _modalities_of(self, item: dict):
        return self.input_modalities

    # ------------------------------------------------------------ outputs
    @property
    def tasks(self) -> Dict[str, str]:
        """task -> kind of every head."""
        return {t: self.model.task_kind(t).name for t in self.model.tasks}

    def task_arrays(self, sample) -> Dict[str, np.ndarray]:
        """One data sample -> {task: array} (see the class docstring)."""
        out = {}
        for task, kind in self.tasks.items():
            # boundary / saliency heads apply their sigmoid: probabilities
            data = sample.get(self.model.pred_fields[task]).data
            data = data.detach().cpu()
            if kind in CLASSIFICATION_KINDS:
                out[task] = data[0].long().numpy()
            elif kind == 'normals':
                out[task] = data.float().permute(1, 2, 0).numpy()
            else:
                out[task] = data[0].float().numpy()
        return out

    def _label_meta(self, kind: str):
        """(class names, palette) of a label task from the model's
        dataset meta (parts: ``parts_classes``)."""
        meta = self.model.dataset_meta or {}
        prefix = 'parts_' if kind == 'parts' else ''
        classes = meta.get(f'{prefix}classes')
        palette = meta.get(f'{prefix}palette')
        if palette is None and classes is not None:
            palette = _palette(len(classes))
        return classes, palette

    def _input_depth(self, item) -> Optional[np.ndarray]:
        """The depth input in metres ((H, W) float32), if one is used."""
        item = item if isinstance(item, dict) else dict(rgb=item)
        if 'depth' not in item or 'depth' not in self.input_modalities:
            return None
        value = item['depth']
        if not isinstance(value, np.ndarray):
            value = cv2.imread(str(value), cv2.IMREAD_UNCHANGED)
            if value is None:
                return None
        depth = value.astype(np.float32)
        if value.dtype == np.uint16:
            depth /= 1000.
        return depth.reshape(depth.shape[:2])

    def _input_panels(self, item, shape, vrange, note) -> List[np.ndarray]:
        """Titled pictures of the inputs the model reads (rgb, depth)."""
        item = item if isinstance(item, dict) else dict(rgb=item)
        from mmmae.engine.hooks.visualization_hook import read_display_image
        used = [m for m in item if m in self.input_modalities]
        panels = []
        for m in used:
            value = item[m]
            if m == 'depth':
                depth = fit(self._input_depth(item), shape)
                lo, hi = vrange
                panels.append(A.depth_panel(
                    depth, lo, hi, None, 'input depth [m]',
                    caption=[f'scale {lo:.2f}-{hi:.2f} m ({note})',
                             'hatched grey: no depth']))
                continue
            if isinstance(value, np.ndarray):
                img = value.astype(np.uint8)
            else:
                img = read_display_image(str(value))
            panels.append(A.title_panel(A.enlarge(fit(A.as_rgb(img), shape)),
                                        f'input {m}'))
        return panels

    def visualize(self, inputs: list, preds: list, names: List[str],
                  show: bool = False, out_dir: Optional[str] = None,
                  with_input: bool = True) -> List[np.ndarray]:
        pictures = []
        for item, sample, name in zip(inputs, preds, names):
            arrays = self.task_arrays(sample)
            shape = next(iter(arrays.values())).shape[:2]
            depth_in = self._input_depth(item)
            depth_pred = [arrays[t] for t, k in self.tasks.items()
                          if k == 'depth']
            vrange, note = None, 'prediction 2-98 %'
            if depth_in is not None:
                vrange, note = depth_range(depth_in), 'depth input 2-98 %'
            elif depth_pred:
                vrange = depth_range(depth_pred[0])
            panels = self._input_panels(item, shape, vrange, note) \
                if with_input else []
            for task, kind in self.tasks.items():
                classes, palette = self._label_meta(kind)
                panels.append(task_panel(kind, arrays[task],
                                         f'{task} prediction'
                                         + (' [m]' if kind == 'depth' else
                                            ''), palette, classes, vrange,
                                         note))
            picture = A.grid(panels, ncols=3)
            self._show_and_save(picture, name, show, out_dir)
            pictures.append(picture)
        return pictures

    def output_files(self, name: str, out_dir: str,
                     depth_format: str = 'png') -> List[str]:
        files = [osp.join(out_dir, f'{name}.png')]
        for task, kind in self.tasks.items():
            png = kind in CLASSIFICATION_KINDS or (kind == 'depth'
                                                   and depth_format == 'png')
            ext = 'png' if png else 'npy'
            files.append(osp.join(out_dir, f'{name}_{task}.{ext}'))
            if kind in CLASSIFICATION_KINDS or kind == 'depth':
                files.append(osp.join(out_dir, f'{name}_{task}_vis.png'))
        return files

    def postprocess(self, preds: list, visualization: list,
                    return_datasamples: bool = False,
                    names: Optional[List[str]] = None,
                    out_dir: Optional[str] = None,
                    depth_format: str = 'png') -> dict:
        if depth_format not in ('png', 'npy'):
            raise ValueError(f'depth_format must be "png" (uint16 mm) or '
                             f'"npy" (float metres), got "{depth_format}"')
        results = []
        for i, sample in enumerate(preds):
            arrays = self.task_arrays(sample)
            if out_dir is not None:
                self._write(arrays, names[i], out_dir, depth_format)
            results.append(sample if return_datasamples else arrays)
        return dict(predictions=results, visualization=visualization)

    def _write(self, arrays: Dict[str, np.ndarray], name: str, out_dir: str,
               depth_format: str) -> None:
        for task, kind in self.tasks.items():
            x = arrays[task]
            stem = osp.join(out_dir, f'{name}_{task}')
            if kind in CLASSIFICATION_KINDS:
                classes = getattr(self.model.decode_heads[task],
                                  'num_classes', 65536)
                dtype = np.uint8 if classes <= 256 else np.uint16
                atomic_imwrite(f'{stem}.png', x.astype(dtype))
            elif kind == 'depth' and depth_format == 'png':
                mm = np.clip(x * 1000 + 0.5, 0, 65535).astype(np.uint16)
                atomic_imwrite(f'{stem}.png', mm)
            else:
                self._save_npy(f'{stem}.npy', x.astype(np.float32))
            if kind in CLASSIFICATION_KINDS or kind == 'depth':
                # The raw file is for programs; its twin for eyes.
                names, palette = self._label_meta(kind)
                twin = task_panel(kind, x, f'{task} prediction'
                                  + (' [m]' if kind == 'depth' else ''),
                                  palette, names)
                atomic_imwrite(f'{stem}_vis.png', twin[..., ::-1])
