"""Side-by-side pictures of a multi-task sample: input | labels | depth."""
from typing import List, Optional

import cv2
import mmcv
import numpy as np
from mmengine.dist import master_only
from mmengine.structures import PixelData
from mmseg.visualization import SegLocalVisualizer

from mmmae.datasets.nyuv2_classes import NYUV2_CLASSES, NYUV2_PALETTE
from mmmae.registry import VISUALIZERS
from mmmae.utils.atomic_io import atomic_imwrite
from .depth_colormap import colorize_depth, depth_range


def _palette(num: int) -> List[List[int]]:
    """A fixed palette of ``num`` colours (NYUv2's, extended if needed)."""
    rng = np.random.RandomState(42)
    extra = rng.randint(0, 256, (max(num - len(NYUV2_PALETTE), 0), 3))
    return [list(c) for c in NYUV2_PALETTE] + extra.tolist()


@VISUALIZERS.register_module()
class MultiTaskLocalVisualizer(SegLocalVisualizer):
    """mmseg's visualizer, drawing every task of a sample side by side.

    Panels, left to right, where present: the input, the label overlay (gt,
    then prediction), the depth colour map (gt, then prediction). Both depth
    panels share the gt's colour range, so they compare directly; invalid
    depth is black. Labels use the dataset's classes and palette (NYUv2's
    40 classes by default, not mmseg's Cityscapes).

    Args:
        name (str): Instance name. Defaults to ``'visualizer'``.
        classes (Sequence[str], optional): Class names; NYUv2 by default.
        palette (Sequence, optional): One RGB triple per class.
        alpha (float): Label overlay opacity. Defaults to 0.6.
        depth_cmap (str): Depth colour map (see ``colorize_depth``).
        gap (int): White pixels between panels. Defaults to 2.
        **kwargs: ``image``, ``vis_backends``, ``save_dir``, ``dataset_name``
            of mmseg's ``SegLocalVisualizer``.

    Shapes:
        image: (H, W, 3) uint8 RGB -> picture: (H, n * W + (n - 1) * gap, 3)
    """

    def __init__(self,
                 name: str = 'visualizer',
                 classes: Optional[List] = None,
                 palette: Optional[List] = None,
                 alpha: float = 0.6,
                 depth_cmap: str = 'magma',
                 gap: int = 2,
                 **kwargs):
        self.depth_cmap = depth_cmap
        self.gap = gap
        super().__init__(name=name, classes=classes, palette=palette,
                         alpha=alpha, **kwargs)

    def set_dataset_meta(self, classes: Optional[List] = None,
                         palette: Optional[List] = None,
                         dataset_name: Optional[str] = None) -> None:
        # mmseg falls back to Cityscapes; NYUv2 is the default here.
        if classes is None and dataset_name is None:
            classes = list(NYUV2_CLASSES)
        if classes is not None and palette is None:
            palette = _palette(len(classes))
        super().set_dataset_meta(classes, palette, dataset_name)

    def _classes_palette(self):
        meta = self.dataset_meta or {}
        classes = meta.get('classes') or NYUV2_CLASSES
        palette = meta.get('palette')
        if palette is None or len(palette) < len(classes):
            # A dataset's metainfo may carry classes only.
            palette = _palette(len(classes))
        return list(classes), [list(map(int, c)) for c in palette]

    def _labels_panel(self, image: np.ndarray, sem_seg: PixelData,
                      with_labels: bool) -> np.ndarray:
        labels = sem_seg.cpu().data
        labels = labels.numpy() if hasattr(labels, 'numpy') else labels
        labels = np.asarray(labels).reshape(labels.shape[-2:])
        if labels.shape != image.shape[:2]:
            labels = cv2.resize(labels.astype(np.int32),
                                image.shape[1::-1],
                                interpolation=cv2.INTER_NEAREST)
        classes, palette = self._classes_palette()
        return self._draw_sem_seg(image, PixelData(data=labels[None]),
                                  classes, palette, with_labels)

    def _depth_panel(self, image: np.ndarray, depth: PixelData,
                     vrange) -> np.ndarray:
        colour = colorize_depth(depth.cpu().data, *vrange,
                                cmap=self.depth_cmap)
        if colour.shape[:2] != image.shape[:2]:
            colour = cv2.resize(colour, image.shape[1::-1],
                                interpolation=cv2.INTER_NEAREST)
        return colour

    def draw_multitask(self,
                       image: np.ndarray,
                       data_sample=None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       with_labels: bool = False) -> np.ndarray:
        """The side-by-side picture of one sample (RGB uint8)."""
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=2)
        image = np.ascontiguousarray(image[..., :3]).astype(np.uint8)
        panels = [image]
        if data_sample is not None:
            fields = []
            if draw_gt:
                fields.append('gt_sem_seg')
            if draw_pred:
                fields.append('pred_sem_seg')
            for key in fields:
                if key in data_sample:
                    panels.append(self._labels_panel(
                        image, data_sample.get(key), with_labels))
            depth_keys = [k for k, on in (('gt_depth_map', draw_gt),
                                          ('pred_depth_map', draw_pred))
                          if on and k in data_sample]
            if depth_keys:
                # The first (gt if drawn) sets the range for both.
                vrange = depth_range(data_sample.get(depth_keys[0]).data)
                for key in depth_keys:
                    panels.append(self._depth_panel(
                        image, data_sample.get(key), vrange))
        gap = np.full((image.shape[0], self.gap, 3), 255, np.uint8)
        out = [panels[0]]
        for p in panels[1:]:
            out += [gap, p]
        return np.concatenate(out, axis=1)

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample=None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       with_labels: bool = False,
                       **kwargs) -> None:
        """Draw a sample; show it, write ``out_file``, or send it to the
        visualisation backends (in that order of precedence for files)."""
        drawn = self.draw_multitask(image, data_sample, draw_gt, draw_pred,
                                    with_labels)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            atomic_imwrite(out_file, mmcv.rgb2bgr(drawn))
        else:
            self.add_image(name, drawn, step)
