"""Titled pictures of a sample: input, then ground truth | prediction per
task; or an image with its true and predicted class."""
from typing import List, Optional

import mmcv
import numpy as np
from mmengine.dist import master_only
from mmengine.structures import PixelData
from mmseg.visualization import SegLocalVisualizer

from mmmae.datasets.nyuv2_classes import NYUV2_CLASSES, NYUV2_PALETTE
from mmmae.datasets.tasks import TASK_FIELDS
from mmmae.registry import VISUALIZERS
from mmmae.utils.atomic_io import atomic_imwrite
from . import annotate as A
from .depth_colormap import depth_range

# Percentile of depth_scale: the colour range is the 2-98 % of valid gt.
DEPTH_PERCENTILE = 2.
# Display names of the tasks (TASK_FIELDS' keys).
TASK_TITLES = dict(semseg='semseg', depth='depth', normals='normals',
                   edge='boundary', sal='saliency', parts='parts')


def _palette(num: int) -> List[List[int]]:
    """A fixed palette of ``num`` colours (NYUv2's, extended if needed)."""
    rng = np.random.RandomState(42)
    extra = rng.randint(0, 256, (max(num - len(NYUV2_PALETTE), 0), 3))
    return [list(c) for c in NYUV2_PALETTE] + extra.tolist()


def _array(field) -> np.ndarray:
    """PixelData / Tensor -> numpy, on the CPU."""
    data = field.data if isinstance(field, PixelData) else field
    if hasattr(data, 'detach'):
        data = data.detach().float().cpu().numpy() if \
            data.is_floating_point() else data.detach().cpu().numpy()
    return np.asarray(data)


@VISUALIZERS.register_module()
class MultiTaskLocalVisualizer(SegLocalVisualizer):
    """mmseg's visualizer, drawing every task of a sample with titles.

    Dense samples (``SegDataSample``): a grid with one row per task present
    (semseg, depth, normals, boundary, saliency, parts) and three columns,
    ``input`` (first row) | ``<task> GT`` | ``<task> prediction``:

    - label maps in the dataset's palette with a legend of the classes
      present (largest first, names from ``dataset_meta['classes']``, or
      ``parts_classes`` for parts), ignored pixels black;
    - depth with a colour bar in metres; GT and prediction share one
      scale, the 2-98 % percentiles of the valid GT depths (of the
      prediction when there is no GT), and GT pixels without depth (0,
      i.e. not ``mask_valid``) are hatched grey;
    - normals as RGB = (xyz + 1) / 2 (no normal hatched); boundary and
      saliency grey, white = 1 (ignored hatched).

    Classification samples (mmpretrain ``DataSample`` with ``gt_label`` /
    ``pred_label``): the image enlarged to at least 160 px with ``GT:
    <class>`` and ``pred: <class> (<score>)`` under it, green when right,
    red when wrong, titled with the task (domain).

    Args:
        name (str): Instance name. Defaults to ``'visualizer'``.
        classes (Sequence[str], optional): Class names; NYUv2 by default.
        palette (Sequence, optional): One RGB triple per class.
        alpha (float): Label opacity over the input image. Defaults to 1
            (pure palette colours, exactly the legend's).
        depth_cmap (str): Depth colour map (see ``colorize_depth``).
        gap (int): White pixels between panels. Defaults to 4.
        min_side (int): Panels are enlarged (integer factor, nearest) to at
            least this many pixels so that titles read. Defaults to 160.
        **kwargs: ``image``, ``vis_backends``, ``save_dir``, ``dataset_name``
            of mmseg's ``SegLocalVisualizer``.

    Shapes:
        image: (H, W, 3) uint8 RGB -> picture: (H', W', 3) uint8 RGB,
        panels of k H x k W (k = ceil(min_side / min(H, W))) plus titles,
        colour bars and legends.
    """

    def __init__(self,
                 name: str = 'visualizer',
                 classes: Optional[List] = None,
                 palette: Optional[List] = None,
                 alpha: float = 1.,
                 depth_cmap: str = 'magma',
                 gap: int = A.GAP,
                 min_side: int = A.MIN_SIDE,
                 **kwargs):
        self.depth_cmap = depth_cmap
        self.gap = gap
        self.min_side = min_side
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

    def _classes_palette(self, task: str = 'semseg'):
        """(class names, palette) of a label task from ``dataset_meta``."""
        meta = self.dataset_meta or {}
        if task == 'parts':
            classes = meta.get('parts_classes')
            palette = meta.get('parts_palette')
        else:
            classes = meta.get('classes') or NYUV2_CLASSES
            palette = meta.get('palette')
        if classes is not None and (palette is None
                                    or len(palette) < len(classes)):
            # A dataset's metainfo may carry classes only.
            palette = _palette(len(classes))
        classes = list(classes) if classes is not None else None
        palette = [list(map(int, c)) for c in palette] if palette else None
        return classes, palette

    # -------------------------------------------------------------- panels
    def _label(self, image, labels, task, title, with_labels):
        classes, palette = self._classes_palette(task)
        panel = A.label_panel(labels, palette, classes, 255, title,
                              image=image, alpha=self.alpha,
                              min_side=self.min_side)
        if with_labels:
            # mmseg writes the class names onto the regions as well.
            k = A.enlarge_factor(labels.shape, self.min_side)
            h, w = labels.shape[0] * k, labels.shape[1] * k
            top = A.TITLE_HEIGHT
            big = A.resize_nearest(labels, (h, w))
            colours = A.full_palette(palette, int(big.max(initial=0)) + 1)
            names = list(classes or []) + [
                f'class {i}' for i in range(len(classes or []), len(colours))]
            panel[top:top + h, :w] = self._draw_sem_seg(
                np.ascontiguousarray(panel[top:top + h, :w]),
                PixelData(data=big[None]), names,
                colours.tolist(), True)
        return panel

    def _depth(self, depth, vrange, title, note, gt):
        lo, hi = vrange
        caption = [f'scale {lo:.2f}-{hi:.2f} m ({note})']
        invalid = None if gt else np.zeros(depth.shape, bool)
        if gt and not ((depth > 0) & np.isfinite(depth)).all():
            caption.append('hatched grey: no depth')
        return A.depth_panel(depth, lo, hi, invalid, title, self.depth_cmap,
                             caption, self.min_side)

    def _scalar(self, data, kind, title, gt):
        """normals / boundary / saliency, invalid hatched."""
        if kind == 'normals':
            return A.normals_panel(data.transpose(1, 2, 0), title,
                                   min_side=self.min_side)  # C H W -> H W C
        invalid = data[0] == 255 if gt else None  # ignore in gt_edge/gt_sal
        return A.grey_panel(data[0], title, invalid, self.min_side)

    def _task_rows(self, image, data_sample, draw_gt, draw_pred,
                   with_labels, depth_scale=None) -> List[list]:
        size = image.shape[:2]
        rows = []
        for task, (_, gt_field, kind) in TASK_FIELDS.items():
            pred_field = 'pred_' + gt_field[3:]
            fields = [(f, is_gt) for f, is_gt, on in (
                (gt_field, True, draw_gt), (pred_field, False, draw_pred))
                if on and f in data_sample]
            if not fields:
                continue
            name = TASK_TITLES.get(task, task)
            unit = ' [m]' if kind == 'depth' else ''
            arrays = {}
            for field, is_gt in fields:
                arr = _array(data_sample.get(field))
                arr = arr.reshape((-1, ) + arr.shape[-2:])  # C H W
                if arr.shape[-2:] != size:
                    arr = np.stack([A.resize_nearest(c, size) for c in arr])
                arrays[is_gt] = arr
            if kind == 'depth':
                if depth_scale is not None:
                    vrange, note = depth_scale
                elif True in arrays:
                    vrange = depth_range(arrays[True][0], DEPTH_PERCENTILE)
                    note = 'GT 2-98 %'
                else:
                    vrange = depth_range(arrays[False][0], DEPTH_PERCENTILE)
                    note = 'prediction 2-98 %'
            row = [None, None]
            for is_gt, arr in arrays.items():
                title = f'{name} {"GT" if is_gt else "prediction"}{unit}'
                if kind == 'label':
                    panel = self._label(image, arr[0].astype(np.int64), task,
                                        title, with_labels)
                elif kind == 'depth':
                    panel = self._depth(arr[0], vrange, title, note, is_gt)
                else:
                    panel = self._scalar(arr, kind, title, is_gt)
                row[0 if is_gt else 1] = panel
            rows.append(row)
        return rows

    def _classification(self, image, data_sample, draw_gt, draw_pred,
                        input_title):
        meta = self.dataset_meta or {}
        classes = meta.get('classes')
        gt_name = pred_name = score = None
        if draw_gt and 'gt_label' in data_sample:
            gt = int(np.asarray(_array(data_sample.gt_label)).reshape(-1)[0])
            gt_name = A.class_name(classes, gt)
        if draw_pred and 'pred_label' in data_sample:
            pred = int(np.asarray(_array(
                data_sample.pred_label)).reshape(-1)[0])
            pred_name = A.class_name(classes, pred)
            if 'pred_score' in data_sample:
                score = float(_array(data_sample.pred_score).reshape(-1)[pred])
        task = data_sample.metainfo.get('task')
        title = f'task {task}: {input_title}' if task else input_title
        return A.classification_panel(image, gt_name, pred_name, score,
                                      title, min_side=self.min_side)

    def draw_multitask(self,
                       image: np.ndarray,
                       data_sample=None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       with_labels: bool = False,
                       input_title: str = 'input',
                       input_depth: Optional[np.ndarray] = None
                       ) -> np.ndarray:
        """The titled picture of one sample (RGB uint8); see the class
        docstring for the layout. ``input_title`` names the input panel
        (e.g. ``'input rgb'``). ``input_depth``, (H, W) metres, is a depth
        input drawn instead of ``image`` with a colour bar, on the scale of
        the sample's depth panels (the GT's, else its own)."""
        image = A.as_rgb(image)
        if data_sample is not None and ('gt_label' in data_sample
                                        or 'pred_label' in data_sample):
            return self._classification(image, data_sample, draw_gt,
                                        draw_pred, input_title)
        scale = None
        if input_depth is None:
            shown = A.title_panel(A.enlarge(image, self.min_side),
                                  input_title)
        else:
            depth = A.resize_nearest(
                np.asarray(input_depth, np.float32).reshape(
                    np.shape(input_depth)[-2:]), image.shape[:2])
            gt = None
            if data_sample is not None and draw_gt and \
                    'gt_depth_map' in data_sample:
                gt = _array(data_sample.gt_depth_map).reshape(
                    np.shape(data_sample.gt_depth_map.data)[-2:])
            scale = (depth_range(gt, DEPTH_PERCENTILE), 'GT 2-98 %') \
                if gt is not None else \
                (depth_range(depth, DEPTH_PERCENTILE), 'depth input 2-98 %')
            shown = self._depth(depth, scale[0], f'{input_title} [m]',
                                scale[1], True)
        rows = [] if data_sample is None else self._task_rows(
            image, data_sample, draw_gt, draw_pred, with_labels, scale)
        if not rows:
            return shown
        cells = []
        for i, (gt, pred) in enumerate(rows):
            cells += [shown if i == 0 else None, gt, pred]
        return A.grid(cells, ncols=3, gap=self.gap)

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
                       input_title: str = 'input',
                       input_depth: Optional[np.ndarray] = None,
                       **kwargs) -> None:
        """Draw a sample; show it, write ``out_file``, or send it to the
        visualisation backends (in that order of precedence for files).
        ``input_title`` and ``input_depth``: see :meth:`draw_multitask`."""
        drawn = self.draw_multitask(image, data_sample, draw_gt, draw_pred,
                                    with_labels, input_title, input_depth)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            atomic_imwrite(out_file, mmcv.rgb2bgr(drawn))
        else:
            self.add_image(name, drawn, step)
