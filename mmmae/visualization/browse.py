"""One picture per dataset sample: every input and target side by side.

``tools/analysis_tools/browse_dataset.py`` draws a sample after the
pipeline with these helpers, so a user sees that the joint augmentations
keep rgb, depth, labels, normals and boundaries aligned.

:func:`sample_panels` turns a packed sample (``PackMultiModalInputs``,
mmseg's ``PackSegInputs`` or mmpretrain's ``PackInputs``) into titled
panels; :func:`draw_panels` lays them out in one row with the panels of
:mod:`mmmae.visualization.annotate` (the same look as ``--show-dir`` and
the demos). Maps are enlarged by an integer factor with nearest-neighbour
sampling, so every data pixel is an exact block of the picture (the
returned boxes locate them):

* image: the RGB values (a pipeline's ``Normalize`` undone), a
  classification sample's class and domain under it;
* depth: near bright, with a colour bar in metres; every depth panel of a
  sample shares the ground truth's range; invalid depth hatched grey;
* label (semseg, parts): the class palette and a legend of the classes
  present, largest first; ignored (255) black;
* normals: ``(n + 1) / 2`` as RGB (x right = red, y down = green), zero
  vectors hatched;
* binary (edge, saliency): 0 black, 1 white, ignored (255) hatched.
"""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch

from mmmae.datasets.tasks import TASK_FIELDS
from mmmae.datasets.transforms._fields import KIND_OF_MODALITY
from . import annotate as A

__all__ = [
    'Panel', 'NormalizeCfg', 'find_normalize', 'sample_panels',
    'select_panels', 'draw_panels'
]

GAP = 8  # white pixels between panels
IGNORE_INDEX = 255
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
        title (str): The panel's title.
        classes (Sequence[str], optional): Label class names.
        palette (Sequence, optional): Label colours (RGB per class).
        caption (tuple[str]): Lines under an image (class, domain).
    """
    name: str
    role: str
    kind: str
    data: np.ndarray
    title: str
    classes: Optional[Sequence[str]] = None
    palette: Optional[Sequence] = None
    caption: Tuple[str, ...] = ()


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
                     f'{name} {role_title}')
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


def _class_lines(data_sample, meta: dict) -> Tuple[str, ...]:
    """('GT: red (2)', 'domain: Art') of a classification sample."""
    label = _numpy(data_sample.gt_label).reshape(-1)
    classes = meta.get('classes') or ()
    names = [f'{classes[int(k)]} ({int(k)})' if 0 <= int(k) < len(classes)
             else f'class {int(k)}' for k in label]
    domain = data_sample.metainfo.get('task') or \
        data_sample.metainfo.get('domain')
    lines = (f'GT: {", ".join(names)}', )
    return lines + ((f'domain: {domain}', ) if domain else ())


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
        classification label and domain go under the image.
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
        panels[0] = panels[0]._replace(caption=_class_lines(ds, meta))
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
def _cell(panel: Panel, vrange, min_side: int) -> np.ndarray:
    """The titled picture of one panel (``annotate``'s panels, so the
    browser looks like ``--show-dir`` and the demos)."""
    data = panel.data
    if panel.kind == 'image':
        cell = A.with_caption(A.enlarge(A.as_rgb(data), min_side),
                              list(panel.caption))
        return A.title_panel(cell, panel.title)
    if panel.kind == 'depth':
        return A.depth_panel(data, *vrange, title=panel.title,
                             min_side=min_side)
    if panel.kind == 'label':
        return A.label_panel(data, panel.palette, panel.classes,
                             IGNORE_INDEX, panel.title, min_side=min_side)
    if panel.kind == 'normals':
        return A.normals_panel(data, panel.title, min_side=min_side)
    ignored = data == IGNORE_INDEX
    return A.grey_panel(np.where(ignored, 0, data).astype(np.float32),
                        panel.title, ignored, min_side=min_side)


def draw_panels(panels: Sequence[Panel], header: str = '',
                min_side: int = A.MIN_SIDE
                ) -> Tuple[np.ndarray, Dict[str, Tuple[int, int, int, int]]]:
    """Lay the panels out in one row under a header line.

    Each map is enlarged by ``annotate.enlarge_factor`` (nearest
    neighbour). Depth panels share one colour range: the ground truth's
    (``annotate.depth_scale``), else the depth input's.

    Args:
        panels (Sequence[Panel]): From :func:`sample_panels`.
        header (str): A line above the panels (sample name, flip, ...).
        min_side (int): Maps smaller than this are enlarged.

    Returns:
        tuple: the picture (H, W, 3) uint8 RGB, and
        ``{'<name> <role>': (y0, x0, y1, x1)}`` of each panel's data
        pixels in it (``y1 - y0 = factor * h``).
    """
    if not panels:
        raise ValueError('no panels to draw')
    depth = [p for p in panels if p.kind == 'depth']
    ref = next((p for p in depth if p.role == 'GT'), depth[0] if depth
               else None)
    vrange = A.depth_scale(ref.data) if ref is not None else (0., 1.)
    cells = [_cell(p, vrange, min_side) for p in panels]
    picture = A.grid(cells, gap=GAP)
    head = 0
    if header:  # a narrow (one-panel) picture widens to show the header
        width = max(picture.shape[1], A.text_width(header) + 8)
        strip = A.text_strip([header], width)
        head = strip.shape[0]
        picture = np.concatenate(
            [strip, A.pad_to(picture, picture.shape[0], width)], axis=0)
    boxes, x = {}, 0
    for p, cell in zip(panels, cells):
        rows, cols = A.map_box(p.data.shape[:2], min_side)
        boxes[f'{p.name} {p.role}'] = (head + rows.start, x + cols.start,
                                       head + rows.stop, x + cols.stop)
        x += cell.shape[1] + GAP
    return picture, boxes
