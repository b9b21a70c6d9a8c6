"""Pictures of MultiMAE reconstructions: masked input, prediction, target.

``draw_reconstruction`` turns one data sample of ``MultiMAE.predict`` into an
RGB image with one row per decoder output and three titled columns: the
masked input (``<task> masked (grey: hidden)``), the prediction
with the visible patches pasted back from the input (``<task> prediction``,
as the MultiMAE paper shows them), and the target (``<task> target``).

- rgb is scaled by the target's range (the model sees normalised rgb);
- depth gets a colour bar over the target's 2-98 % percentiles, shared by
  the three panels; the values are MultiMAE's per-image standardised depth
  (z, unitless), which the bar caption says;
- labels get the dataset's palette and a legend of the classes present
  (ignore 255 black).

Every map is brought to the first target's size with nearest sampling,
then enlarged to at least ``annotate.MIN_SIDE`` px so that titles read.
"""
import os.path as osp
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.hooks import Hook
from torch import Tensor

from mmmae.registry import HOOKS
from mmmae.utils.atomic_io import atomic_imwrite
from mmmae.visualization import annotate as A

GREY = 128


def _scale(x: Tensor, ref: Tensor) -> np.ndarray:
    """(C, H, W) -> (H, W, C) uint8, scaled by ``ref``'s range."""
    lo, hi = ref.min(), ref.max()
    x = ((x - lo) / (hi - lo).clamp_min(1e-6)).clamp(0, 1) * 255
    return x.permute(1, 2, 0).round().byte().cpu().numpy()


def map_kind(x: Tensor) -> str:
    """``'labels'`` (one integer channel), ``'depth'`` (one float channel)
    or ``'image'``."""
    if x.shape[0] == 1:
        return 'depth' if x.is_floating_point() else 'labels'
    return 'image'


def _grey_hidden(panel: np.ndarray, hidden: np.ndarray,
                 min_side: int) -> np.ndarray:
    """Hidden (H, W) pixels grey inside a titled annotate panel's map."""
    rows, cols = A.map_box(hidden.shape, min_side)
    k = A.enlarge_factor(hidden.shape, min_side)
    big = np.repeat(np.repeat(hidden, k, 0), k, 1)
    panel = panel.copy()
    panel[rows, cols][big] = GREY
    return panel


def reconstruction_panels(name: str,
                          pred: Tensor,
                          target: Optional[Tensor],
                          mask: Tensor,
                          size: Sequence[int],
                          class_names: Optional[Sequence[str]] = None,
                          palette: Optional[Sequence] = None,
                          min_side: int = A.MIN_SIDE) -> List[np.ndarray]:
    """The three titled panels of one decoder output.

    Args:
        name (str): The output's name (the row's titles).
        pred (Tensor): (C, H, W) prediction in the target's units, or
            (1, H, W) labels.
        target (Tensor, optional): (C, H, W) target; None when the
            modality was not given (the row then shows the prediction
            only, beside two blank "not given" panels).
        mask (Tensor): (1, H, W) 1 = hidden patch pixel.
        size (Sequence[int]): (H, W) every map is brought to (nearest).
        class_names, palette: Label names and colours (legend).
        min_side (int): Panels are enlarged to this size at least.

    Returns:
        list: [masked input, prediction, target], (H_i, W_i, 3) uint8 RGB.
    """
    size = tuple(int(s) for s in size)
    ref = pred if target is None else target
    kind = map_kind(ref)
    hidden = A.resize_nearest(mask[0].bool().cpu().numpy(), size)
    if target is None:
        pasted = pred
    else:
        pasted = torch.where(mask.bool(), pred.to(target.dtype)
                             if kind == 'labels' else pred, target)

    def draw(x: Tensor, title: str, hide: bool) -> np.ndarray:
        if kind == 'labels':
            lab = A.resize_nearest(x[0].long().cpu().numpy(), size)
            panel = A.label_panel(lab, palette, class_names, 255, title,
                                  min_side=min_side)
        elif kind == 'depth':
            arr = A.resize_nearest(x[0].float().cpu().numpy(), size)
            panel = A.depth_panel(
                arr, lo, hi, np.zeros(size, bool), title,
                caption=['z: depth standardised per image'], unit='',
                min_side=min_side)
        else:
            img = A.resize_nearest(_scale(x.float(), ref.float()), size)
            panel = A.title_panel(A.enlarge(A.as_rgb(img), min_side), title)
        return _grey_hidden(panel, hidden, min_side) if hide else panel

    if kind == 'depth':
        values = ref.float().cpu().numpy()
        values = values[np.isfinite(values) & (values != 0)]
        lo, hi = (np.percentile(values, (2, 98)) if values.size
                  else (0., 1.))
        lo, hi = float(lo), float(max(hi, lo + 1e-3))
    if target is None:
        recon = draw(pred, f'{name} predicted (not given)', False)
        blank = A.title_panel(
            A.enlarge(np.full(size + (3, ), GREY, np.uint8), min_side),
            f'{name}: not given')
        return [blank, recon, blank]
    return [draw(target, f'{name} masked (grey: hidden)', True),
            draw(pasted, f'{name} prediction', False),
            draw(target, f'{name} target', False)]


def draw_reconstruction(sample, size: Optional[Sequence[int]] = None,
                        class_names: Optional[Sequence[str]] = None,
                        palette: Optional[Sequence] = None) -> np.ndarray:
    """One picture for a sample of ``MultiMAE.predict``.

    Args:
        sample: A data sample with ``recon_tasks`` metainfo and the
            ``pred_<output>``, ``target_<task>``, ``mask_<task>`` fields.
        size (tuple, optional): (H, W) of every map; default the first
            target's size.
        class_names, palette: Label names and colours of the legend.

    Returns:
        np.ndarray: (H', W', 3) uint8 RGB image: a row per output, three
        titled panels each (see the module docstring).
    """
    tasks = sample.metainfo.get('recon_tasks')
    if not tasks:
        raise KeyError('the data sample has no "recon_tasks" metainfo; '
                       'is it an output of MultiMAE.predict?')
    if size is None:
        size = sample.get(f'target_{next(iter(tasks.values()))}').shape
    cells = []
    for name, task in tasks.items():
        target = sample.get(f'target_{task}').data
        pred = sample.get(f'pred_{name}').data
        if target.is_floating_point():
            pred, target = pred.float(), target.float()
        else:  # labels: predict() stores the argmax
            pred = pred.round().long()
        cells += reconstruction_panels(name, pred, target,
                                       sample.get(f'mask_{task}').data,
                                       size, class_names, palette)
    return A.grid(cells, ncols=3)


def _dataset_meta(runner) -> dict:
    """The visualizer's dataset meta (set by the val / test loops)."""
    visualizer = getattr(runner, 'visualizer', None)
    return dict(getattr(visualizer, 'dataset_meta', None) or {})


@HOOKS.register_module()
class ReconstructionHook(Hook):
    """Writes reconstruction pictures during validation and testing.

    For the first ``max_samples`` samples of every val / test run, one PNG
    per sample (see ``draw_reconstruction``) goes to
    ``{out_dir}/iter_{N}/`` (val, N = training iteration) or
    ``{out_dir}/test/``, named after the image; an image met twice in one
    run gets ``_<k>`` appended rather than overwriting the first picture.
    Label legends name the classes of the dataset's metainfo.

    Args:
        max_samples (int): Samples drawn per run. Defaults to 8.
        out_dir (str, optional): Output folder; defaults to
            ``{runner.log_dir}/reconstructions``.
    """

    priority = 'LOW'

    def __init__(self, max_samples: int = 8, out_dir: Optional[str] = None):
        self.max_samples = max_samples
        self.out_dir = out_dir
        self._drawn = 0
        self._used = set()

    def _reset(self, runner) -> None:
        self._drawn = 0
        self._used = set()

    before_val_epoch = _reset
    before_test_epoch = _reset

    def _draw(self, runner, outputs, sub_dir: str) -> None:
        out_dir = osp.join(self.out_dir or osp.join(runner.log_dir,
                                                    'reconstructions'),
                           sub_dir)
        for sample in outputs:
            if self._drawn >= self.max_samples:
                return
            if 'recon_tasks' not in sample.metainfo:
                continue  # not a MultiMAE output
            path = sample.metainfo.get('img_path')
            name = osp.splitext(osp.basename(path))[0] if path \
                else f'{self._drawn:04d}'
            base, k = name, self._drawn
            while name in self._used:
                name, k = f'{base}_{k}', k + 1
            self._used.add(name)
            meta = _dataset_meta(runner)
            image = draw_reconstruction(sample,
                                        class_names=meta.get('classes'),
                                        palette=meta.get('palette'))
            atomic_imwrite(osp.join(out_dir, f'{name}.png'), image[..., ::-1])
            self._drawn += 1

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self._draw(runner, outputs or [], f'iter_{runner.iter}')

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self._draw(runner, outputs or [], 'test')
