"""One picture per dataset sample: every input and target side by side.

``tools/analysis_tools/browse_dataset.py`` draws a sample after the
pipeline with these helpers, so a user sees that the joint augmentations
keep rgb, depth, labels, normals and boundaries aligned.

:func:`sample_panels` turns a packed sample (``PackMultiModalInputs``,
mmseg's ``PackSegInputs`` or mmpretrain's ``PackInputs``) into titled
panels; :func:`draw_panels` lays them out in one row. Panels are upscaled
by an integer factor with nearest-neighbour sampling, so every data pixel
is an exact block of the picture (the returned boxes locate them):

* image: the RGB values (a pipeline's ``Normalize`` undone);
* depth: ``colorize_depth`` (near bright) with a colour bar in metres;
  every depth panel of a sample shares the ground truth's range;
* label (semseg, parts): the class palette, a legend of the classes
  present, largest first;
* normals: ``(n + 1) / 2`` as RGB (x right = red, y down = green);
* binary (edge, saliency): 0 black, 1 white;
* invalid depth or normals (0) and ignored labels (255) are a grey
  checkerboard, named in the legend.
"""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch

from mmmae.datasets.nyuv2_classes import _bit_palette
from mmmae.datasets.tasks import TASK_FIELDS
from mmmae.datasets.transforms._fields import KIND_OF_MODALITY
from .depth_colormap import colorize_depth, depth_range

__all__ = [
    'Panel', 'NormalizeCfg', 'find_normalize', 'sample_panels',
    'select_panels', 'draw_panels'
]

FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.4
LINE = 15  # pixels per text line
GAP = 8  # white pixels between panels
CHECKER = ((110, 110, 110), (190, 190, 190))  # invalid / ignored pixels
CHECKER_SIZE = 4
LEGEND_ROWS = 10
CBAR_WIDTH = 10
# Label maps of these names read their class names from the metainfo key.
CLASS_KEYS = dict(semseg='classes', parts='parts_classes')


class Panel(NamedTuple):
    """One picture of a sample.

    Attributes:
        name (str): Modality or task name (``--modalities`` selects by it).
        role (str): ``'input'`` or ``'GT'``.
        kind (str): image, depth, label, normals or binary.
        data (ndarray): image (H, W, 3) uint8 RGB; depth (H, W) float
            metres, 0 invalid; label / binary (H, W) int, 255 ignored;
            normals (H, W, 3) float, 0 vector invalid.
        title (str): Title lines, separated by ``\\n``.
        classes (Sequence[str], optional): Label class names.
        palette (Sequence, optional): Label colours (RGB per class).
    """
    name: str
    role: str
    kind: str
    data: np.ndarray
    title: str
    classes: Optional[Sequence[str]] = None
    palette: Optional[Sequence] = None


class NormalizeCfg(NamedTuple):
    """A pipeline's ``Normalize``: ``x = (img - mean) / std``, after a
    BGR -> RGB swap when ``to_rgb``."""
    mean: Tuple[float, ...]
    std: Tuple[float, ...]
    to_rgb: bool


def find_normalize(pipeline: Optional[Sequence[dict]]
                   ) -> Optional[NormalizeCfg]:
    """The first ``*Normalize`` transform of a pipeline config, if any."""
    for t in pipeline or ():
        kind = str(t.get('type', '')) if isinstance(t, dict) else \
            type(t).__name__
        if kind.split('.')[-1] == 'Normalize' and 'mean' in t:
            return NormalizeCfg(tuple(map(float, t['mean'])),
                                tuple(map(float, t['std'])),
                                bool(t.get('to_rgb', True)))
    return None


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _image(chw, bgr: bool, norm: Optional[NormalizeCfg]) -> Tuple[
        np.ndarray, str]:
    """(C, H, W) tensor -> (H, W, 3) uint8 RGB and a title note."""
    img = _numpy(chw).transpose(1, 2, 0).astype(np.float64)  # H W C
    note = ''
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    if not np.issubdtype(_numpy(chw).dtype, np.integer):
        if norm is not None:
            img = img * np.asarray(norm.std) + np.asarray(norm.mean)
            # mmcv's Normalize swaps BGR -> RGB before normalising.
            bgr = bgr and not norm.to_rgb
        elif img.size and (img.min() < 0 or img.max() > 255):
            lo, hi = img.min(), img.max()
            img = (img - lo) / max(hi - lo, 1e-12) * 255
            note = ' (stretched)'
    img = np.clip(np.rint(img[..., :3]), 0, 255).astype(np.uint8)
    return (img[..., ::-1] if bgr else img).copy(), note


def _map(name: str, kind: str, tensor, role: str, meta: dict,
         norm: Optional[NormalizeCfg], bgr: bool = False) -> Panel:
    role_title = '(input)' if role == 'input' else 'GT'
    if kind == 'image':
        img, note = _image(tensor, bgr, norm)
        return Panel(name, role, kind, img, f'{name} {role_title}{note}')
    data = _numpy(tensor)
    if kind == 'normals':
        return Panel(name, role, kind, data.transpose(1, 2, 0),
                     f'{name} {role_title} (xyz->RGB)')
    data = data.reshape(data.shape[-2:])
    if kind == 'depth':
        return Panel(name, role, kind, data.astype(np.float32),
                     f'{name} {role_title} [m]')
    if kind == 'label':
        classes = meta.get(CLASS_KEYS.get(name, ''))
        palette = meta.get('palette') if name == 'semseg' else None
        return Panel(name, role, kind, data.astype(np.int64),
                     f'{name} {role_title}', classes, palette)
    return Panel(name, role, 'binary', data.astype(np.int64),
                 f'{name} {role_title}')


def _class_line(data_sample, meta: dict) -> str:
    """'red (2) | domain Art' of a classification sample."""
    label = _numpy(data_sample.gt_label).reshape(-1)
    classes = meta.get('classes') or ()
    names = [f'{classes[int(k)]} ({int(k)})' if 0 <= int(k) < len(classes)
             else f'class {int(k)}' for k in label]
    line = ', '.join(names)
    domain = data_sample.metainfo.get('task') or \
        data_sample.metainfo.get('domain')
    return f'{line} | domain {domain}' if domain else line


def sample_panels(packed: dict, meta: Optional[dict] = None,
                  norm: Optional[NormalizeCfg] = None) -> List[Panel]:
    """The panels of one packed sample: inputs first, then ground truth.

    Args:
        packed (dict): ``dict(inputs, data_samples)`` of a pipeline.
            ``inputs`` is ``{modality: (C, H, W)}`` (mmmae) or one
            (3, H, W) BGR image (mmseg, mmpretrain; named ``img``).
        meta (dict, optional): The dataset's metainfo (``classes``,
            ``palette``, ``parts_classes``).
        norm (NormalizeCfg, optional): The pipeline's ``Normalize``, undone
            on float images (:func:`find_normalize`).

    Returns:
        list[Panel]: ``<modality> (input)`` per input, then ``<task> GT``
        per ground-truth field of ``mmmae.datasets.tasks`` present; a
        classification label goes into the image's title.
    """
    meta = dict(meta or {})
    inputs, ds = packed['inputs'], packed.get('data_samples')
    panels = []
    if isinstance(inputs, dict):
        for name, tensor in inputs.items():
            kind = KIND_OF_MODALITY.get(name)
            if kind is None:  # an unknown modality: an image if 3-channel
                kind = 'image' if tensor.shape[0] == 3 else 'depth'
            panels.append(_map(name, kind, tensor, 'input', meta, norm))
    else:  # mmcv's loaders give BGR
        panels.append(_map('img', 'image', inputs, 'input', meta, norm,
                           bgr=True))
    if ds is None:
        return panels
    if 'gt_label' in ds and panels:
        first = panels[0]
        panels[0] = first._replace(
            title=f'{first.title}\n{_class_line(ds, meta)}')
    for task, (_, field, kind) in TASK_FIELDS.items():
        if field in ds:
            panels.append(_map(task, kind, ds.get(field).data, 'GT', meta,
                               norm))
    return panels


def select_panels(panels: List[Panel], names: Optional[Sequence[str]],
                  source: str) -> List[Panel]:
    """The panels of the named modalities/tasks (all when None).

    Raises:
        KeyError: a name the sample does not have, naming it, ``source``
            and the available names.
    """
    if not names:
        return panels
    available = list(dict.fromkeys(p.name for p in panels))
    missing = [n for n in names if n not in available]
    if missing:
        raise KeyError(f'modality {", ".join(map(repr, missing))} is not in '
                       f'the samples of {source}; available modalities: '
                       f'{available}')
    return [p for p in panels if p.name in names]


# ---------------------------------------------------------------- drawing
def _checker(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    odd = ((yy // CHECKER_SIZE + xx // CHECKER_SIZE) % 2).astype(bool)
    out = np.empty((h, w, 3), np.uint8)
    out[~odd], out[odd] = CHECKER
    return out


def _upscale(arr: np.ndarray, s: int) -> np.ndarray:
    return np.repeat(np.repeat(arr, s, axis=0), s, axis=1)


def _label_colours(panel: Panel) -> np.ndarray:
    labels = panel.data
    valid = labels[(labels != 255) & (labels >= 0)]
    top = int(valid.max()) + 1 if valid.size else 1
    n = max(top, len(panel.classes or ()))
    palette = panel.palette
    if palette is None or len(palette) < n:
        palette = _bit_palette(n)
    return np.asarray(palette, np.uint8)[:n]


def _legend(panel: Panel, invalid: np.ndarray) -> List[Tuple]:
    """[(colour or None for the checker, text)] below a panel."""
    entries = []
    if panel.kind == 'label':
        labels = panel.data[~invalid]
        ids, area = np.unique(labels, return_counts=True)
        palette = _label_colours(panel)
        classes = panel.classes or ()
        order = ids[np.argsort(-area, kind='stable')]
        for k in order[:LEGEND_ROWS]:
            name = classes[k] if k < len(classes) else f'id {k}'
            entries.append((tuple(int(c) for c in palette[k]), str(name)))
        if len(order) > LEGEND_ROWS:
            entries.append(((255, 255, 255),
                            f'+{len(order) - LEGEND_ROWS} more'))
    elif panel.kind == 'binary':
        entries += [((0, 0, 0), '0'), ((255, 255, 255), f'1 ({panel.name})')]
    if invalid.any():
        what = 'ignored (255)' if panel.kind in ('label', 'binary') \
            else 'invalid (0)'
        entries.append((None, what))
    return entries


def _render(panel: Panel, vrange) -> Tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 RGB of a panel and its (H, W) invalid mask."""
    data = panel.data
    if panel.kind == 'image':
        return data, np.zeros(data.shape[:2], bool)
    if panel.kind == 'depth':
        invalid = ~((data > 0) & np.isfinite(data))
        return colorize_depth(data, *vrange), invalid
    if panel.kind == 'normals':
        invalid = ~np.any(data != 0, axis=-1)
        rgb = np.clip(np.rint((data + 1) / 2 * 255), 0, 255)
        return rgb.astype(np.uint8), invalid
    invalid = (data == 255) | (data < 0)
    if panel.kind == 'label':
        palette = _label_colours(panel)
        return palette[np.where(invalid, 0, data)], invalid
    return np.where(data[..., None] == 1, 255, 0).astype(np.uint8).repeat(
        3, axis=2), invalid


def _put(canvas: np.ndarray, text: str, x: int, y: int,
         width: int) -> None:
    """Write one line with its baseline at y, cut to ``width`` pixels."""
    while text and cv2.getTextSize(text, FONT, FONT_SCALE, 1)[0][0] > width:
        text = text[:-2] + '~' if len(text) > 2 else ''
    cv2.putText(canvas, text, (x, y), FONT, FONT_SCALE, (0, 0, 0), 1,
                cv2.LINE_AA)


def _colour_bar(height: int, vrange) -> np.ndarray:
    """A vertical bar, far (vmax) on top, with three ticks in metres (the
    unit is in the panel's title)."""
    vmin, vmax = vrange
    values = np.linspace(vmax, vmin, height, dtype=np.float32)[:, None]
    strip = colorize_depth(np.repeat(values, CBAR_WIDTH, axis=1), vmin,
                           vmax)
    bar = np.full((height, CBAR_WIDTH + 40, 3), 255, np.uint8)
    bar[:, :CBAR_WIDTH] = strip
    for frac in (0., 0.5, 1.):
        y = int(round(frac * (height - 1)))
        _put(bar, f'{vmax - frac * (vmax - vmin):.2f}', CBAR_WIDTH + 3,
             min(max(y + 4, 9), height - 2), 37)
    return bar


def _cell(panel: Panel, scale: int, vrange, title_lines: int
          ) -> Tuple[np.ndarray, Tuple[int, int]]:
    """The titled, legended picture of one panel and the (y, x) of its
    upscaled data pixels inside it."""
    rgb, invalid = _render(panel, vrange)
    h, w = rgb.shape[:2]
    big = _upscale(rgb, scale)
    mask = _upscale(invalid, scale)
    big[mask] = _checker(h * scale, w * scale)[mask]
    bar = _colour_bar(h * scale, vrange) if panel.kind == 'depth' else None
    width = w * scale + (0 if bar is None else bar.shape[1] + 4)
    legend = _legend(panel, invalid)
    top = title_lines * LINE + 4
    canvas = np.full((top + h * scale + len(legend) * LINE + 4, width, 3),
                     255, np.uint8)
    for i, line in enumerate(panel.title.split('\n')):
        _put(canvas, line, 0, (i + 1) * LINE - 4, width)
    canvas[top:top + h * scale, :w * scale] = big
    if bar is not None:
        canvas[top:top + h * scale, w * scale + 4:] = bar
    y = top + h * scale + 2
    for colour, text in legend:
        swatch = _checker(10, 10) if colour is None else \
            np.full((10, 10, 3), colour, np.uint8)
        canvas[y + 2:y + 12, 0:10] = swatch
        cv2.rectangle(canvas, (0, y + 2), (9, y + 11), (0, 0, 0), 1)
        _put(canvas, text, 14, y + 11, width - 14)
        y += LINE
    return canvas, (top, 0)


def draw_panels(panels: Sequence[Panel], header: str = '',
                min_height: int = 192
                ) -> Tuple[np.ndarray, Dict[str, Tuple[int, int, int, int]]]:
    """Lay the panels out in one row under a header line.

    Each panel is upscaled by the integer ``max(1, min_height // h)``
    (nearest neighbour). Depth panels share one colour range: the ground
    truth's robust range (2-98 percentile of the valid pixels), else the
    depth input's.

    Args:
        panels (Sequence[Panel]): From :func:`sample_panels`.
        header (str): A line above the panels (sample name, flip, ...).
        min_height (int): Panels smaller than this are upscaled.

    Returns:
        tuple: the picture (H, W, 3) uint8 RGB, and
        ``{'<name> <role>': (y0, x0, y1, x1)}`` of each panel's data
        pixels in it (``y1 - y0 = scale * h``).
    """
    if not panels:
        raise ValueError('no panels to draw')
    depth = [p for p in panels if p.kind == 'depth']
    ref = next((p for p in depth if p.role == 'GT'), depth[0] if depth
               else None)
    vrange = depth_range(ref.data) if ref is not None else (0., 1.)
    title_lines = max(len(p.title.split('\n')) for p in panels)
    cells, offsets = [], []
    for p in panels:
        scale = max(1, min_height // max(p.data.shape[0], 1))
        cell, (y, x) = _cell(p, scale, vrange, title_lines)
        cells.append(cell)
        offsets.append((y, x, scale))
    height = max(c.shape[0] for c in cells)
    width = sum(c.shape[1] for c in cells) + GAP * (len(cells) + 1)
    if header:  # a narrow (one-panel) picture widens to show the header
        width = max(width, cv2.getTextSize(header, FONT, FONT_SCALE, 1)[0][0]
                    + 2 * GAP)
    head = LINE + 6 if header else 0
    canvas = np.full((head + height + GAP, width, 3), 255, np.uint8)
    if header:
        _put(canvas, header, GAP, LINE, width - GAP)
    boxes = {}
    x = GAP
    for p, cell, (y, dx, scale) in zip(panels, cells, offsets):
        canvas[head:head + cell.shape[0], x:x + cell.shape[1]] = cell
        h, w = p.data.shape[:2]
        boxes[f'{p.name} {p.role}'] = (head + y, x + dx,
                                       head + y + h * scale,
                                       x + dx + w * scale)
        x += cell.shape[1] + GAP
    return canvas, boxes
