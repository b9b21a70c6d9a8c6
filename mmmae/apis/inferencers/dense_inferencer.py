"""Inferencer of the dense multi-task models (``MultiTaskSegmentor``)."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch.nn as nn
from mmengine.logging import print_log

from mmmae.registry import INFERENCERS
from mmmae.utils.atomic_io import atomic_imwrite
from mmmae.visualization import colorize_depth
from ..modalities import describe_modalities, restrict_input_modalities
from .base import MMMAEInferencer
from .drawing import fit, side_by_side, task_panel, titled

CLASSIFICATION_KINDS = ('segmentation', 'parts')


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
    an (H', W', 3) RGB picture, the input then one titled panel per task.

    Files in ``out_dir`` for an input named ``<name>``: ``<name>.png`` (the
    picture); ``<name>_<task>.png`` for depth (uint16 millimetres, or
    ``<name>_<task>.npy`` float metres with ``depth_format='npy'``) and for
    label maps (uint8 class ids, uint16 beyond 255 classes);
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

    def _display_image(self, item, shape) -> np.ndarray:
        """The input drawn as RGB uint8: rgb, else the depth colour map."""
        item = item if isinstance(item, dict) else dict(rgb=item)
        from mmmae.engine.hooks.visualization_hook import read_display_image
        for m in ('rgb', ) + tuple(k for k in item if k != 'rgb'):
            if m not in item or m not in self.input_modalities:
                continue
            value = item[m]
            if isinstance(value, np.ndarray):
                if value.ndim == 3:
                    return fit(value.astype(np.uint8), shape)
                depth = value.astype(np.float32)
                if value.dtype == np.uint16:
                    depth /= 1000.
                return fit(colorize_depth(depth), shape)
            return fit(read_display_image(str(value)), shape)
        return np.zeros(tuple(shape) + (3, ), np.uint8)

    def visualize(self, inputs: list, preds: list, names: List[str],
                  show: bool = False, out_dir: Optional[str] = None,
                  with_input: bool = True) -> List[np.ndarray]:
        palette = (self.model.dataset_meta or {}).get('palette')
        pictures = []
        for item, sample, name in zip(inputs, preds, names):
            arrays = self.task_arrays(sample)
            shape = next(iter(arrays.values())).shape[:2]
            panels = []
            if with_input:
                shown = '+'.join(m for m in self.input_modalities
                                 if m in (item if isinstance(item, dict)
                                          else dict(rgb=item)))
                panels.append(titled(self._display_image(item, shape),
                                     f'input ({shown})'))
            for task, kind in self.tasks.items():
                panels.append(titled(task_panel(kind, arrays[task], palette),
                                     task))
            picture = side_by_side(panels)
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
