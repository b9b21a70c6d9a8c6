"""Pictures of MultiMAE reconstructions: masked input, prediction, target.

``draw_reconstruction`` turns one data sample of ``MultiMAE.predict`` into an
RGB image with one row per decoder output and three columns: the masked
input (hidden patches grey), the prediction with the visible patches pasted
back from the input (as the MultiMAE paper shows them), and the target.
rgb is scaled by the target's range, depth gets a colour map over the
target's range, labels a fixed palette (ignore 255 black). Every panel is
brought to the rgb target's size with nearest sampling.
"""
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np
import torch
from mmengine.hooks import Hook
from torch import Tensor

from mmmae.registry import HOOKS
from mmmae.utils.atomic_io import atomic_imwrite

GREY = 128
_PALETTE = np.random.RandomState(0).randint(0, 256, (256, 3)).astype(np.uint8)
_PALETTE[255] = 0


def _scale(x: Tensor, ref: Tensor) -> np.ndarray:
    """(C, H, W) -> (H, W, C) uint8, scaled by ``ref``'s range."""
    lo, hi = ref.min(), ref.max()
    x = ((x - lo) / (hi - lo).clamp_min(1e-6)).clamp(0, 1) * 255
    return x.permute(1, 2, 0).round().byte().cpu().numpy()


def _panel(x: Tensor, ref: Tensor, kind: str) -> np.ndarray:
    """One (H, W, 3) uint8 panel of a (C, H, W) map."""
    if kind == 'labels':
        return _PALETTE[x[0].long().clamp(0, 255).cpu().numpy()]
    img = _scale(x, ref)
    if kind == 'depth':
        return cv2.applyColorMap(img[..., 0], cv2.COLORMAP_VIRIDIS)[..., ::-1]
    return img if img.shape[-1] == 3 else np.repeat(img[..., :1], 3, -1)


def draw_reconstruction(sample, size: Optional[Sequence[int]] = None
                        ) -> np.ndarray:
    """One picture for a sample of ``MultiMAE.predict``.

    Args:
        sample: A data sample with ``recon_tasks`` metainfo and the
            ``pred_<output>``, ``target_<task>``, ``mask_<task>`` fields.
        size (tuple, optional): (H, W) of every panel; default the first
            target's size.

    Returns:
        np.ndarray: (rows * H, 3 * W, 3) uint8 RGB image.
    """
    tasks = sample.metainfo.get('recon_tasks')
    if not tasks:
        raise KeyError('the data sample has no "recon_tasks" metainfo; '
                       'is it an output of MultiMAE.predict?')
    if size is None:
        size = sample.get(f'target_{next(iter(tasks.values()))}').shape
    rows = []
    for name, task in tasks.items():
        pred = sample.get(f'pred_{name}').data.float()
        target = sample.get(f'target_{task}').data
        mask = sample.get(f'mask_{task}').data.bool()  # 1 H W
        labels = target.shape[0] == 1 and not target.is_floating_point()
        kind = 'labels' if labels else ('depth' if target.shape[0] == 1
                                        else 'image')
        target = target.float()
        pasted = torch.where(mask, pred, target)
        masked_in = _panel(target, target, kind).copy()
        masked_in[mask[0].cpu().numpy()] = GREY
        panels = [masked_in, _panel(pasted, target, kind),
                  _panel(target, target, kind)]
        panels = [
            cv2.resize(p, (size[1], size[0]),
                       interpolation=cv2.INTER_NEAREST) for p in panels
        ]
        rows.append(np.concatenate(panels, axis=1))
    return np.concatenate(rows, axis=0)


@HOOKS.register_module()
class ReconstructionHook(Hook):
    """Writes reconstruction pictures during validation and testing.

    For the first ``max_samples`` samples of every val / test run, one PNG
    per sample (see ``draw_reconstruction``) goes to
    ``{out_dir}/iter_{N}/`` (val, N = training iteration) or
    ``{out_dir}/test/``.

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

    def _reset(self, runner) -> None:
        self._drawn = 0

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
            image = draw_reconstruction(sample)
            atomic_imwrite(osp.join(out_dir, f'{name}.png'), image[..., ::-1])
            self._drawn += 1

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None) -> None:
        self._draw(runner, outputs or [], f'iter_{runner.iter}')

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        self._draw(runner, outputs or [], 'test')
