"""Readable panels: titles, depth colour bars, label legends and grids.

Small cv2/numpy helpers shared by the visualizer, the hooks, the demos and
the dataset browser. Every function takes and returns (H, W, 3) uint8 RGB
pictures, white background, black text (cv2's Hershey font, so ASCII only).

The four a caller needs:

- :func:`title_panel` ``(img, text)``: a title strip above a panel;
- :func:`depth_panel` ``(depth, vmin, vmax, invalid_mask)``: a depth map
  in metres with a colour bar (ticks in metres) and a caption; pixels of
  ``invalid_mask`` are hatched grey. Give the ground truth and the
  prediction the same ``vmin``/``vmax`` (:func:`depth_scale` of the ground
  truth) and one colour means one depth in both;
- :func:`label_panel` ``(label, palette, class_names, ignore_index=255)``:
  a label map with a legend of the classes present, largest first, cut
  to what fits (``... +k more``); ignored pixels are black;
- :func:`grid` ``(panels, ncols)``: panels of any size in rows, each cell
  padded with white; ``None`` leaves a cell blank.

Panels smaller than :data:`MIN_SIDE` pixels are enlarged (nearest, so
labels stay labels) so that their text stays readable.

Example::

    from mmmae.visualization import annotate as A
    lo, hi = A.depth_scale(gt)                      # from valid gt pixels
    pic = A.grid([A.title_panel(rgb, 'input rgb'),
                  A.depth_panel(gt, lo, hi, gt <= 0, 'depth GT [m]'),
                  A.depth_panel(pred, lo, hi, None, 'depth prediction [m]'),
                  A.label_panel(seg, palette, classes, 255, 'semseg GT')],
                 ncols=2)
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from .depth_colormap import colorize_depth, depth_range

FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.45  # about 9 px high capitals: readable at 100 % zoom
MIN_FONT_SCALE = 0.3
LINE = 16  # px per text line
TITLE_HEIGHT = 20
MIN_SIDE = 160  # px: smaller panels are enlarged by an integer factor
BACKGROUND = (255, 255, 255)
TEXT = (0, 0, 0)
GAP = 4
# Invalid depth: diagonal stripes of two greys, which no depth colour map
# produces (magma, turbo, ... are never grey), so "no data" is never read
# as "far" (magma's far end is near black).
HATCH = ((96, 96, 96), (192, 192, 192))
HATCH_PERIOD = 6  # px
BAR_WIDTH = 14
SWATCH = 12
IGNORE_COLOUR = (0, 0, 0)


# ------------------------------------------------------------------ text
def text_width(text: str, scale: float = FONT_SCALE) -> int:
    """Width in pixels of ``text`` drawn with :func:`put_text`."""
    return cv2.getTextSize(text, FONT, scale, 1)[0][0]


def fit_text(text: str, width: int,
             scale: float = FONT_SCALE) -> Tuple[str, float]:
    """(text, scale) that fits ``width`` px: the font shrinks down to
    ``MIN_FONT_SCALE``, then the text is cut and ends in ``..``."""
    while text_width(text, scale) > width and scale > MIN_FONT_SCALE:
        scale = round(scale - 0.05, 2)
    if text_width(text, scale) <= width:
        return text, scale
    while len(text) > 1 and text_width(text + '..', scale) > width:
        text = text[:-1]
    return text + '..', scale


def put_text(img: np.ndarray, text: str, org: Tuple[int, int],
             width: Optional[int] = None,
             colour: Sequence[int] = TEXT) -> np.ndarray:
    """Draw ``text`` in place with its baseline's left end at ``org``
    (x, y), fitted to ``width`` px (default: to the image's right edge)."""
    width = img.shape[1] - org[0] - 2 if width is None else width
    text, scale = fit_text(text, max(width, 1))
    cv2.putText(img, text, org, FONT, scale, tuple(int(c) for c in colour),
                1, cv2.LINE_AA)
    return img


def text_strip(lines: Sequence[str], width: int,
               colours: Optional[Sequence[Sequence[int]]] = None
               ) -> np.ndarray:
    """(4 + LINE * n, width, 3): ``lines`` of text on white."""
    strip = np.full((4 + LINE * len(lines), width, 3), BACKGROUND, np.uint8)
    for i, line in enumerate(lines):
        colour = colours[i] if colours is not None else TEXT
        put_text(strip, line, (3, LINE * (i + 1) - 3), colour=colour)
    return strip


def title_panel(img: np.ndarray, text: str) -> np.ndarray:
    """(H, W, 3) -> (TITLE_HEIGHT + H, W, 3): ``text`` on a white strip
    above ``img`` (shrunk or cut with ``..`` to the panel's width)."""
    img = as_rgb(img)
    strip = np.full((TITLE_HEIGHT, img.shape[1], 3), BACKGROUND, np.uint8)
    put_text(strip, text, (3, TITLE_HEIGHT - 6))
    return np.concatenate([strip, img], axis=0)


def with_caption(img: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """``img`` above a strip of text ``lines`` (none: ``img`` itself)."""
    if not lines:
        return img
    return np.concatenate([img, text_strip(lines, img.shape[1])], axis=0)


# ---------------------------------------------------------------- pixels
def as_rgb(img: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) -> contiguous (H, W, 3) uint8."""
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img[..., :3]).astype(np.uint8)


def enlarge_factor(shape: Sequence[int], min_side: int = MIN_SIDE) -> int:
    """The integer factor that brings the smaller side to ``min_side``."""
    side = min(shape[0], shape[1])
    return max(1, int(np.ceil(min_side / max(side, 1))))


def enlarge(img: np.ndarray, min_side: int = MIN_SIDE) -> np.ndarray:
    """Nearest-neighbour enlargement by :func:`enlarge_factor`."""
    k = enlarge_factor(img.shape, min_side)
    if k == 1:
        return img
    return np.repeat(np.repeat(img, k, axis=0), k, axis=1)


def resize_nearest(arr: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """``arr`` (H, W[, C]) at (H', W') ``size``, nearest (labels stay
    labels, invalid depth stays 0)."""
    if tuple(arr.shape[:2]) == tuple(size):
        return arr
    dtype = arr.dtype
    work = arr.astype(np.float32) if dtype in (np.int64, np.bool_) else arr
    out = cv2.resize(work, (int(size[1]), int(size[0])),
                     interpolation=cv2.INTER_NEAREST)
    return out.astype(dtype)


def hatch(shape: Sequence[int]) -> np.ndarray:
    """(H, W, 3) diagonal stripes of the two :data:`HATCH` greys."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    stripe = ((xx + yy) // (HATCH_PERIOD // 2)) % 2
    return np.asarray(HATCH, np.uint8)[stripe]


def mark_invalid(rgb: np.ndarray, invalid: np.ndarray) -> np.ndarray:
    """``rgb`` with the ``invalid`` (H, W) bool pixels hatched."""
    out = rgb.copy()
    invalid = np.asarray(invalid, bool)
    out[invalid] = hatch(rgb.shape)[invalid]
    return out


# ----------------------------------------------------------------- depth
def depth_scale(gt, valid: Optional[np.ndarray] = None,
                percentile: float = 2.) -> Tuple[float, float]:
    """(vmin, vmax) in metres: the ``percentile`` and ``100 - percentile``
    percentiles of the valid ground-truth depths (> 0, finite, and
    ``valid`` where given). Use it for the gt and the prediction panels."""
    gt = np.asarray(gt, np.float32).reshape(np.shape(gt)[-2:])
    if valid is not None:
        gt = np.where(np.asarray(valid, bool), gt, 0)
    return depth_range(gt, percentile)


def colour_bar(vmin: float, vmax: float, height: int,
               cmap: str = 'magma', width: int = BAR_WIDTH,
               num_ticks: int = 5) -> Tuple[np.ndarray, List[tuple]]:
    """A vertical colour bar: ``vmax`` at the top row, ``vmin`` at the
    bottom, coloured exactly as :func:`colorize_depth` colours a depth.

    Returns:
        tuple: the bar (height, width, 3) uint8 and the ticks, a list of
        (row, value in metres) from top to bottom.
    """
    rows = np.arange(height, dtype=np.float64)
    values = vmax - rows / max(height - 1, 1) * (vmax - vmin)
    column = colorize_depth(values[:, None].astype(np.float32), vmin, vmax,
                            cmap=cmap, invalid_black=False)
    bar = np.repeat(column, width, axis=1)
    ticks = []
    for i in range(num_ticks):
        # Evenly spaced values, each at its nearest row: the row's colour
        # is that of the value to within half a row of depth.
        value = vmax - i * (vmax - vmin) / max(num_ticks - 1, 1)
        row = int(round((vmax - value) / max(vmax - vmin, 1e-12) *
                        (height - 1)))
        ticks.append((row, float(value)))
    return bar, ticks


def _tick_label(value: float, unit: str = 'm') -> str:
    text = f'{value:.2f}' if abs(value) < 100 else f'{value:.0f}'
    return f'{text} {unit}' if unit else text


def depth_panel(depth,
                vmin: float,
                vmax: float,
                invalid_mask: Optional[np.ndarray] = None,
                title: Optional[str] = None,
                cmap: str = 'magma',
                caption: Optional[Sequence[str]] = None,
                min_side: int = MIN_SIDE,
                unit: str = 'm') -> np.ndarray:
    """A depth map with a colour bar in metres.

    Args:
        depth (ndarray): (H, W) or (1, H, W) depth in metres.
        vmin, vmax (float): The colour range in metres (share it between
            the ground truth and the prediction; see :func:`depth_scale`).
            Depths outside it get the end colours.
        invalid_mask (ndarray, optional): (H, W) bool, True where there is
            no depth (e.g. not ``mask_valid``); hatched. Defaults to the
            pixels whose depth is <= 0 or not finite (mmmae's "no depth").
        title (str, optional): Title strip above (e.g. ``'depth GT [m]'``).
        cmap (str): Colour map of :func:`colorize_depth` (near = bright).
        caption (Sequence[str], optional): Lines under the bar; default
            says the range and, when some pixel is invalid, the hatching.
        min_side (int): Smaller panels are enlarged to this size.
        unit (str): Unit written after the tick values; ``''`` for
            unitless maps (e.g. MultiMAE's standardised depth, which is
            signed: give it an explicit ``invalid_mask``).

    Returns:
        ndarray: (H', W' + bar, 3) uint8 RGB: map | bar | ticks in metres,
        the title above and the caption below.
    """
    depth = np.asarray(depth, np.float32)
    depth = depth.reshape(depth.shape[-2:])
    invalid = ~((depth > 0) & np.isfinite(depth)) if invalid_mask is None \
        else np.asarray(invalid_mask, bool).reshape(depth.shape)
    k = enlarge_factor(depth.shape, min_side)
    size = (depth.shape[0] * k, depth.shape[1] * k)
    depth = resize_nearest(depth, size)
    invalid = resize_nearest(invalid, size)
    # colorize_depth blacks out depth <= 0; give those pixels a colour
    # first and let the hatching alone say "invalid".
    # Every finite value gets its colour (a signed map too); the hatching
    # alone says "invalid".
    shown = colorize_depth(np.where(np.isfinite(depth), depth, vmin), vmin,
                           vmax, cmap=cmap, invalid_black=False)
    shown = mark_invalid(shown, invalid)
    bar, ticks = colour_bar(vmin, vmax, size[0], cmap=cmap)
    labels_w = max(text_width(_tick_label(v, unit)) for _, v in ticks) + 4
    side = np.full((size[0], GAP + BAR_WIDTH + 3 + labels_w, 3), BACKGROUND,
                   np.uint8)
    side[:, GAP:GAP + BAR_WIDTH] = bar
    for row, value in ticks:
        side[row, GAP + BAR_WIDTH:GAP + BAR_WIDTH + 3] = TEXT  # tick mark
        y = int(np.clip(row + 4, 9, size[0] - 2))
        put_text(side, _tick_label(value, unit), (GAP + BAR_WIDTH + 4, y),
                 width=labels_w)
    panel = np.concatenate([shown, side], axis=1)
    if caption is None:
        caption = [f'colour: {_tick_label(vmin, "")}-'
                   f'{_tick_label(vmax, unit)}']
        if invalid.any():
            caption.append('hatched grey: no depth')
    panel = with_caption(panel, caption)
    return title_panel(panel, title) if title else panel


def map_box(shape: Sequence[int], min_side: int = MIN_SIDE,
            titled: bool = True) -> Tuple[slice, slice]:
    """(rows, cols) of the map inside a :func:`depth_panel` /
    :func:`label_panel` of an (H, W) map: top left, enlarged, under the
    title strip when ``titled``."""
    k = enlarge_factor(shape, min_side)
    top = TITLE_HEIGHT if titled else 0
    return (slice(top, top + shape[0] * k), slice(0, shape[1] * k))


# ---------------------------------------------------------------- labels
def default_palette(num: int, seed: int = 42) -> List[List[int]]:
    """``num`` fixed RGB colours (seeded), for maps without a palette."""
    rng = np.random.RandomState(seed)
    return rng.randint(0, 256, (max(num, 0), 3)).tolist()


def full_palette(palette: Optional[Sequence], num: int) -> np.ndarray:
    """(max(num, len(palette)), 3) uint8: ``palette`` extended with
    :func:`default_palette` colours up to ``num`` entries."""
    base = [list(map(int, c)) for c in (palette or [])]
    if len(base) < num:
        base += default_palette(num)[len(base):]
    return np.asarray(base, np.uint8).reshape(-1, 3)


def legend_entries(label: np.ndarray, ignore_index: Optional[int] = 255,
                   max_items: Optional[int] = None
                   ) -> Tuple[List[int], int]:
    """The classes present in ``label``, largest area first (ties: lower
    id first), ``ignore_index`` left out.

    Returns:
        tuple: (the first ``max_items`` class ids, how many more there are).
    """
    ids, counts = np.unique(np.asarray(label).astype(np.int64),
                            return_counts=True)
    keep = ids != ignore_index if ignore_index is not None else \
        np.ones_like(ids, bool)
    keep &= ids >= 0
    order = sorted(zip(-counts[keep], ids[keep]))
    ids = [int(i) for _, i in order]
    if max_items is None or len(ids) <= max_items:
        return ids, 0
    return ids[:max_items], len(ids) - max_items


def class_name(class_names: Optional[Sequence[str]], idx: int) -> str:
    if class_names is not None and 0 <= idx < len(class_names):
        return str(class_names[idx])
    return f'class {idx}'


def legend(ids: Sequence[int], palette: np.ndarray,
           class_names: Optional[Sequence[str]], more: int = 0,
           ignored: bool = False, width: int = 120) -> np.ndarray:
    """(rows * LINE + 4, width, 3): a swatch and a name per class id, then
    ``... +more more`` and ``black: ignored`` where asked."""
    rows = len(ids) + (1 if more else 0) + (1 if ignored else 0)
    img = np.full((4 + LINE * max(rows, 1), width, 3), BACKGROUND, np.uint8)
    for i, idx in enumerate(ids):
        y0 = 4 + LINE * i
        img[y0:y0 + SWATCH, 2:2 + SWATCH] = TEXT  # 1 px outline
        img[y0 + 1:y0 + SWATCH - 1, 3:1 + SWATCH] = palette[idx]
        put_text(img, f'{idx} {class_name(class_names, idx)}',
                 (SWATCH + 6, y0 + SWATCH - 2))
    row = len(ids)
    if more:
        put_text(img, f'... +{more} more', (SWATCH + 6,
                                            4 + LINE * row + SWATCH - 2))
        row += 1
    if ignored:
        y0 = 4 + LINE * row
        img[y0:y0 + SWATCH, 2:2 + SWATCH] = (128, 128, 128)
        img[y0 + 1:y0 + SWATCH - 1, 3:1 + SWATCH] = IGNORE_COLOUR
        put_text(img, 'ignored', (SWATCH + 6, y0 + SWATCH - 2))
    return img


def colour_labels(label: np.ndarray, palette: np.ndarray,
                  ignore_index: Optional[int] = 255) -> np.ndarray:
    """(H, W) class ids -> (H, W, 3) palette colours; ignored and
    out-of-palette ids black."""
    label = np.asarray(label).astype(np.int64)
    out = np.zeros(label.shape + (3, ), np.uint8)
    ok = (label >= 0) & (label < len(palette))
    if ignore_index is not None:
        ok &= label != ignore_index
    out[ok] = palette[label[ok]]
    return out


def label_panel(label,
                palette: Optional[Sequence],
                class_names: Optional[Sequence[str]],
                ignore_index: Optional[int] = 255,
                title: Optional[str] = None,
                image: Optional[np.ndarray] = None,
                alpha: float = 1.,
                max_items: int = 10,
                min_side: int = MIN_SIDE) -> np.ndarray:
    """A label map with a legend of the classes present.

    Args:
        label (ndarray): (H, W) or (1, H, W) class ids.
        palette (Sequence, optional): RGB per class id; missing colours
            come from :func:`default_palette`.
        class_names (Sequence[str], optional): Names per class id (the
            dataset's ``metainfo['classes']``); missing ones read
            ``class k``.
        ignore_index (int, optional): Id drawn black and left out of the
            legend (listed as ``ignored`` when present).
        title (str, optional): Title strip above (e.g. ``'semseg GT'``).
        image (ndarray, optional): (H, W, 3) RGB under the labels, mixed
            in with ``1 - alpha``. Defaults to none: pure palette colours,
            which are exactly the legend's.
        alpha (float): Label opacity over ``image``.
        max_items (int): Legend rows at most; the rest (smallest areas)
            are summed up as ``... +k more``. The panel's height may allow
            fewer.
        min_side (int): Smaller panels are enlarged to this size.

    Returns:
        ndarray: (H', W' + legend, 3) uint8 RGB: map | legend, the title
        above.
    """
    label = np.asarray(label).astype(np.int64)
    label = label.reshape(label.shape[-2:])
    k = enlarge_factor(label.shape, min_side)
    size = (label.shape[0] * k, label.shape[1] * k)
    label = resize_nearest(label, size)
    top = int(label.max(initial=0))
    colours = full_palette(palette, top + 1)
    shown = colour_labels(label, colours, ignore_index)
    if image is not None and alpha < 1:
        under = resize_nearest(as_rgb(image), size).astype(np.float32)
        shown = (alpha * shown + (1 - alpha) * under).round().astype(
            np.uint8)
    ignored = ignore_index is not None and bool((label == ignore_index).any())
    fits = max((size[0] - 4) // LINE - int(ignored), 1)
    ids, more = legend_entries(label, ignore_index, min(max_items, fits))
    if more and len(ids) >= fits:  # room for the "... +k more" row
        ids, more = ids[:-1], more + 1
    names = [f'{i} {class_name(class_names, i)}' for i in ids]
    width = min(max([text_width(n) for n in names] + [60]) + SWATCH + 10,
                180)
    key = legend(ids, colours, class_names, more, ignored, width)
    side = np.full((max(size[0], key.shape[0]), width + GAP, 3),
                   BACKGROUND, np.uint8)
    side[:key.shape[0], GAP:] = key
    shown = pad_to(shown, side.shape[0], shown.shape[1])
    panel = np.concatenate([shown, side], axis=1)
    return title_panel(panel, title) if title else panel


# ------------------------------------------------------- other dense maps
def normals_panel(normals: np.ndarray, title: Optional[str] = None,
                  invalid_mask: Optional[np.ndarray] = None,
                  min_side: int = MIN_SIDE) -> np.ndarray:
    """(H, W, 3) unit normals as RGB = (xyz + 1) / 2, with that caption;
    ``invalid_mask`` (default: zero or non-finite vectors) hatched."""
    normals = np.asarray(normals, np.float32)
    if invalid_mask is None:
        invalid_mask = ~np.isfinite(normals).all(-1) | (
            np.abs(normals).sum(-1) == 0)
    rgb = ((np.clip(np.nan_to_num(normals), -1, 1) + 1) * 127.5).round()
    return _flat_panel(rgb.astype(np.uint8), invalid_mask, title,
                       ['RGB = (xyz + 1) / 2'], min_side)


def grey_panel(prob: np.ndarray, title: Optional[str] = None,
               invalid_mask: Optional[np.ndarray] = None,
               min_side: int = MIN_SIDE) -> np.ndarray:
    """(H, W) values in [0, 1] (boundary, saliency) grey, white = 1, with
    that caption; ``invalid_mask`` (e.g. ignore 255) hatched."""
    prob = np.asarray(prob, np.float32)
    invalid = np.zeros(prob.shape, bool) if invalid_mask is None else \
        np.asarray(invalid_mask, bool)
    grey = np.where(invalid, 0, np.clip(np.nan_to_num(prob), 0, 1))
    return _flat_panel(as_rgb((grey * 255).round().astype(np.uint8)),
                       invalid, title, ['white = 1, black = 0'], min_side)


def _flat_panel(rgb, invalid, title, caption, min_side) -> np.ndarray:
    invalid = np.asarray(invalid, bool)
    if invalid.any():
        rgb = mark_invalid(rgb, invalid)
        caption = list(caption) + ['hatched grey: no value / ignored']
    panel = with_caption(enlarge(rgb, min_side), caption)
    return title_panel(panel, title) if title else panel


# ---------------------------------------------------------------- layout
def pad_to(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """``img`` at the top left of a white (height, width, 3) canvas."""
    if img.shape[0] == height and img.shape[1] == width:
        return img
    out = np.full((height, width, 3), BACKGROUND, np.uint8)
    out[:img.shape[0], :img.shape[1]] = img
    return out


def grid(panels: Sequence[Optional[np.ndarray]], ncols: Optional[int] = None,
         gap: int = GAP) -> np.ndarray:
    """Panels in rows of ``ncols`` (default: one row), ``gap`` white px
    apart; each cell as wide as its column's widest panel and as high as
    its row's highest; ``None`` is a blank cell.

    Returns:
        ndarray: (sum of row heights + gaps, sum of column widths + gaps, 3)
        uint8 RGB.
    """
    panels = list(panels)
    if not panels or all(p is None for p in panels):
        raise ValueError('grid needs at least one panel')
    ncols = len(panels) if ncols is None else int(ncols)
    if ncols < 1:
        raise ValueError(f'ncols must be >= 1, got {ncols}')
    rows = [panels[i:i + ncols] for i in range(0, len(panels), ncols)]
    heights = [max([p.shape[0] for p in r if p is not None] + [1])
               for r in rows]
    widths = [max([r[c].shape[1] for r in rows
                   if c < len(r) and r[c] is not None] + [1])
              for c in range(ncols)]
    H = sum(heights) + gap * (len(rows) - 1)
    W = sum(widths) + gap * (ncols - 1)
    out = np.full((H, W, 3), BACKGROUND, np.uint8)
    y = 0
    for r, row in enumerate(rows):
        x = 0
        for c, p in enumerate(row):
            if p is not None:
                p = as_rgb(p)
                out[y:y + p.shape[0], x:x + p.shape[1]] = p
            x += widths[c] + gap
        y += heights[r] + gap
    return out


# -------------------------------------------------------- classification
CORRECT = (0, 140, 0)
WRONG = (200, 0, 0)


def classification_panel(img: np.ndarray,
                         gt_name: Optional[str],
                         pred_name: Optional[str],
                         score: Optional[float] = None,
                         title: Optional[str] = None,
                         extra: Sequence[str] = (),
                         min_side: int = MIN_SIDE) -> np.ndarray:
    """An image with its true and predicted class written under it.

    Args:
        img (ndarray): (H, W, 3) RGB; enlarged to ``min_side``.
        gt_name (str, optional): The true class (``GT: <name>``).
        pred_name (str, optional): The predicted class, with ``score``
            (``pred: <name> (0.93)``), green when it equals ``gt_name``,
            red otherwise.
        title (str, optional): Title strip above (e.g. the task).
        extra (Sequence[str]): More lines (e.g. the top-k).

    Returns:
        ndarray: (TITLE_HEIGHT + H' + text, W', 3) uint8 RGB.
    """
    img = enlarge(as_rgb(img), min_side)
    lines, colours = [], []
    if gt_name is not None:
        lines.append(f'GT: {gt_name}')
        colours.append(TEXT)
    if pred_name is not None:
        shown = f'pred: {pred_name}'
        if score is not None:
            shown += f' ({score:.2f})'
        lines.append(shown)
        colours.append(TEXT if gt_name is None else
                       (CORRECT if gt_name == pred_name else WRONG))
    for line in extra:
        lines.append(line)
        colours.append(TEXT)
    out = np.concatenate(
        [img, text_strip(lines, img.shape[1], colours)], axis=0) \
        if lines else img
    return title_panel(out, title) if title else out
