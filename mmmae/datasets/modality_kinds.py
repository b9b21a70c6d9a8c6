"""Modality kinds: how one kind of map is loaded, transformed and normalised.

A *kind* is registered data (:class:`ModalityKind` in ``MODALITY_KINDS``);
every stage reads its kind and never a modality name:

======== ========== ===== ======= ======== ===== ========== =================
kind     loader     ch    packed  interp.  pad   normalise  flip
======== ========== ===== ======= ======== ===== ========== =================
image    rgb8       3     uint8   bilinear 0     ImageNet   -
depth    depth      1     float32 nearest  0     robust     -
label    label_map  1     int64   nearest  255   class ids  -
normals  normals    3     float32 bilinear 0     -          negate x (h), y
                                  + unit                    (v)
edge     edge       1     int64   nearest  255   -          -
binary   saliency   1     int64   nearest  255   -          -
======== ========== ===== ======= ======== ===== ========== =================

The built-in modality and task names map to these kinds
(:data:`BUILTIN_KIND_OF`: rgb -> image, semseg and parts -> label, sal ->
binary, ...). Any other name needs a mapping, e.g.
``LoadMultiModalFromFile(modality_kinds=dict(ir='infrared'))``, or a kind of
the same name.

A config or a plugin adds a kind without editing mmmae::

    from mmmae.datasets.modality_kinds import register_modality_kind
    register_modality_kind('infrared', loader='float_tiff', channels=1,
                           normalize=dict(mean=(0.5, ), std=(0.25, )))

or, in a pipeline, ``modality_kinds=dict(ir=dict(name='infrared', ...))``
(:func:`declare_modality_kinds`). A new kind may start from another one:
``register_modality_kind('depth_tiff', base='depth', loader='depth_tiff')``.

``MODALITY_KINDS`` is an mmengine ``Registry`` of its own (mmengine has no
registry of map kinds to be a child of); it holds the :class:`ModalityKind`
instances themselves, and calling one with field overrides gives a derived
kind, so ``MODALITY_KINDS.get('depth')(loader='depth_tiff')`` works too.
"""
import dataclasses
from dataclasses import dataclass
from numbers import Number
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import cv2

from mmmae.registry import MODALITY_KINDS

__all__ = [
    'ModalityKind', 'ModalityKindError', 'UnknownModalityKindError',
    'register_modality_kind',
    'get_modality_kind', 'modality_kind_names', 'declare_modality_kinds',
    'default_kind_of', 'BUILTIN_KIND_OF', 'IMAGENET_MEAN', 'IMAGENET_STD'
]

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)

# INTER_NEAREST_EXACT samples at pixel centres like INTER_LINEAR does;
# plain INTER_NEAREST is shifted by up to half an output pixel.
_NEAREST = getattr(cv2, 'INTER_NEAREST_EXACT', cv2.INTER_NEAREST)
CV2_INTERPOLATION = dict(nearest=_NEAREST, bilinear=cv2.INTER_LINEAR,
                         bicubic=cv2.INTER_CUBIC, area=cv2.INTER_AREA)
PACKED_DTYPES = ('uint8', 'float32', 'int64')
NORMALIZE_MODES = ('robust', 'class_ids')
FLIP_DIRECTIONS = ('horizontal', 'vertical')

# Kind of each built-in modality / task name (targets: mmmae.datasets.tasks).
BUILTIN_KIND_OF = dict(rgb='image', depth='depth', semseg='label',
                       normals='normals', edge='edge', sal='binary',
                       parts='label')


class ModalityKindError(KeyError):
    """A kind is registered twice, or redefined by a config."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class UnknownModalityKindError(ModalityKindError):
    """A kind, or the kind of a modality, is not registered."""


@dataclass(frozen=True)
class ModalityKind:
    """What the pipeline and the data preprocessor do with one kind of map.

    Args:
        name (str): Registered name.
        loader (str): Name of the decoding function in
            ``mmmae.registry.MODALITY_LOADERS`` (``fn(path, ctx) -> array``,
            see ``mmmae.datasets.transforms.loaders``).
        channels (int, optional): Channels C of the loaded map; a loaded map
            with another count is an error naming the file. None: any.
        dtype (str): Tensor dtype after ``PackMultiModalInputs``: 'uint8',
            'float32' or 'int64'.
        interpolation (str): Resize mode: 'nearest' (pixel centres),
            'bilinear', 'bicubic' or 'area'.
        pad_value (float): Value of ``MultiModalPad``'s border.
        normalize (None | str | dict): In ``MultiMAEDataPreprocessor``:
            None (float, unchanged), 'robust' (per-image trimmed
            standardisation of values > 0, 0 = invalid), 'class_ids' (kept
            as int64 ids) or ``dict(mean=(C values), std=(C values))``. A
            modality given ``mean``/``std`` in the preprocessor uses those.
        flip_negate (dict): {direction: channel} negated by a flip in that
            direction ('horizontal' / 'vertical'), e.g. normals' x and y.
        unit_vectors (bool): Bilinear resize, then renormalise to unit
            length; validity (non-zero vector) follows nearest (normals).
        loader_args (dict): Keyword options handed to the loader (win over
            the loading transform's own).

    Shapes:
        loaded map (H, W) if channels == 1 else (H, W, C)
        -> packed tensor (C, H, W) of ``dtype``
    """

    name: str
    loader: str
    channels: Optional[int] = 1
    dtype: str = 'float32'
    interpolation: str = 'bilinear'
    pad_value: Number = 0
    normalize: Union[None, str, Dict[str, Tuple[float, ...]]] = None
    flip_negate: Tuple[Tuple[str, int], ...] = ()
    unit_vectors: bool = False
    loader_args: Tuple[Tuple[str, Any], ...] = ()

    def __post_init__(self):
        where = f'modality kind "{self.name}"'
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f'a modality kind needs a non-empty name, got '
                             f'{self.name!r}')
        if not isinstance(self.loader, str) or not self.loader:
            raise ValueError(f'{where}: loader must be the registered name '
                             f'of a decoding function, got {self.loader!r}')
        if self.channels is not None and (not isinstance(self.channels, int)
                                          or self.channels < 1):
            raise ValueError(f'{where}: channels must be a positive int or '
                             f'None, got {self.channels!r}')
        if self.dtype not in PACKED_DTYPES:
            raise ValueError(f'{where}: dtype must be one of {PACKED_DTYPES},'
                             f' got {self.dtype!r}')
        if self.interpolation not in CV2_INTERPOLATION:
            raise ValueError(f'{where}: interpolation must be one of '
                             f'{sorted(CV2_INTERPOLATION)}, got '
                             f'{self.interpolation!r}')
        if not isinstance(self.pad_value, Number):
            raise ValueError(f'{where}: pad_value must be a number, got '
                             f'{self.pad_value!r}')
        object.__setattr__(self, 'normalize',
                           self._check_normalize(self.normalize, where))
        flips = self.flip_negate
        flips = tuple(sorted((flips or {}).items())) if isinstance(
            flips, dict) else tuple(tuple(p) for p in flips)
        for direction, channel in flips:
            if direction not in FLIP_DIRECTIONS:
                raise ValueError(f'{where}: flip_negate direction must be '
                                 f'one of {FLIP_DIRECTIONS}, got '
                                 f'{direction!r}')
            if not isinstance(channel, int) or channel < 0 or (
                    self.channels is not None and channel >= self.channels):
                raise ValueError(f'{where}: flip_negate channel {channel!r} '
                                 f'is not one of its {self.channels} '
                                 'channels')
        object.__setattr__(self, 'flip_negate', flips)
        args = self.loader_args
        object.__setattr__(self, 'loader_args', tuple(sorted(
            (args or {}).items())) if isinstance(args, dict) else tuple(
                tuple(p) for p in args))

    def _check_normalize(self, norm, where):
        if norm is None or norm in NORMALIZE_MODES:
            return norm
        if not isinstance(norm, dict) or set(norm) != {'mean', 'std'}:
            raise ValueError(
                f'{where}: normalize must be None, one of {NORMALIZE_MODES} '
                f'or dict(mean=..., std=...), got {norm!r}')
        mean, std = tuple(norm['mean']), tuple(norm['std'])
        if len(mean) != len(std) or (self.channels is not None
                                     and len(mean) != self.channels):
            raise ValueError(f'{where}: normalize mean {mean} and std {std} '
                             f'need one value per channel ({self.channels})')
        if any(s <= 0 for s in std):
            raise ValueError(f'{where}: normalize std {std} must be > 0')
        return dict(mean=mean, std=std)

    @property
    def cv2_interpolation(self) -> int:
        """The ``cv2.resize`` flag of ``interpolation``."""
        return CV2_INTERPOLATION[self.interpolation]

    def negated_channel(self, direction: str) -> Optional[int]:
        """Channel a flip in ``direction`` negates, or None."""
        return dict(self.flip_negate).get(direction)

    def __call__(self, **overrides) -> 'ModalityKind':
        """A copy with some fields replaced (``MODALITY_KINDS.build``)."""
        return dataclasses.replace(self, **overrides) if overrides else self


def _make(name: str, base: Optional[str], fields: dict) -> ModalityKind:
    known = {f.name for f in dataclasses.fields(ModalityKind)} - {'name'}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise TypeError(f'modality kind "{name}": unknown field(s) {unknown};'
                        f' fields are {sorted(known)}')
    if base is not None:
        parent = get_modality_kind(base)
        fields = dict({f: getattr(parent, f) for f in known}, **fields)
    if 'loader' not in fields:
        raise TypeError(f'modality kind "{name}" needs a loader (or a base '
                        'kind to take it from)')
    return ModalityKind(name=name, **fields)


def register_modality_kind(name: str,
                           base: Optional[str] = None,
                           force: bool = False,
                           **fields) -> ModalityKind:
    """Register a new modality kind in ``MODALITY_KINDS``.

    Args:
        name (str): The kind's name.
        base (str, optional): A registered kind whose fields are the
            defaults, e.g. ``base='depth', loader='depth_tiff'``.
        force (bool): Replace an existing kind of that name.
        **fields: The fields of :class:`ModalityKind`.

    Returns:
        ModalityKind: The registered kind.

    Raises:
        ModalityKindError: (a KeyError) ``name`` is already registered and
            ``force`` is False (names the kind).
        TypeError, ValueError: an unknown or invalid field (names it).
    """
    kind = _make(name, base, fields)
    if not force and name in MODALITY_KINDS.module_dict:
        raise ModalityKindError(
            f'modality kind "{name}" is already registered '
            f'({MODALITY_KINDS.module_dict[name]}); choose another name or '
            'pass force=True to replace it')
    MODALITY_KINDS.register_module(name=name, module=kind, force=force)
    return kind


def get_modality_kind(name: str) -> ModalityKind:
    """The registered kind ``name`` (scope prefixes such as ``mmmae.`` ok).

    Raises:
        UnknownModalityKindError: naming the kind and the known ones.
    """
    kind = MODALITY_KINDS.module_dict.get(name)  # hot path: no scope logic
    if kind is None and isinstance(name, str):
        kind = MODALITY_KINDS.get(name)
    if kind is None:
        raise UnknownModalityKindError(
            f'unknown modality kind "{name}"; registered kinds are '
            f'{modality_kind_names()} (register one with mmmae.datasets.'
            'modality_kinds.register_modality_kind, or declare it in the '
            'loading transform\'s modality_kinds)')
    return kind


def modality_kind_names() -> List[str]:
    """Names of the registered kinds, sorted."""
    return sorted(MODALITY_KINDS.module_dict)


def declare_modality_kinds(
        kinds: Iterable[Union[str, dict, ModalityKind]]) -> List[str]:
    """Make config-declared kinds available; returns their names.

    Each item is a registered name, a ``ModalityKind`` or a dict with a
    ``name`` and fields (plus an optional ``base``). A pipeline is built
    several times (train, val, test, TTA), so declaring a kind again with
    the same fields is a no-op; different fields are an error.

    Raises:
        ModalityKindError: (a KeyError) a kind declared with fields that
            differ from the registered ones (names the kind and fields).
    """
    names = []
    for item in kinds:
        if isinstance(item, str):
            names.append(get_modality_kind(item).name)
            continue
        if isinstance(item, ModalityKind):
            kind = item
        elif isinstance(item, dict):
            if 'name' not in item:
                raise KeyError(f'a declared modality kind needs a "name": '
                               f'{item}')
            fields = dict(item)
            name, base = fields.pop('name'), fields.pop('base', None)
            kind = _make(name, base, fields)
        else:
            raise TypeError(f'a modality kind is a name, a dict or a '
                            f'ModalityKind, got {type(item).__name__}')
        old = MODALITY_KINDS.module_dict.get(kind.name)
        if old is None:
            MODALITY_KINDS.register_module(name=kind.name, module=kind)
        elif old != kind:
            diff = [f.name for f in dataclasses.fields(kind)
                    if getattr(old, f.name) != getattr(kind, f.name)]
            raise ModalityKindError(
                f'modality kind "{kind.name}" is already registered with '
                f'other {diff} ({old}); a config cannot redefine it: give '
                'the new kind another name')
        names.append(kind.name)
    return names


def default_kind_of(modality: str) -> str:
    """The kind of a modality or task name with no explicit mapping: the
    built-in table, else a registered kind of the same name.

    Raises:
        UnknownModalityKindError: naming the modality, the built-in names
            and how to map it.
    """
    kind = BUILTIN_KIND_OF.get(modality)
    if kind is not None:
        return kind
    if modality in MODALITY_KINDS.module_dict:
        return modality
    raise UnknownModalityKindError(
        f'modality "{modality}" has no kind: the built-in names are '
        f'{sorted(BUILTIN_KIND_OF)}; map it to a registered kind with '
        f'LoadMultiModalFromFile(modality_kinds=dict({modality}=<kind>)) '
        f'(kinds: {modality_kind_names()})')


# The built-in kinds: exactly the behaviour of the hard-coded tables they
# replace (see the module docstring).
register_modality_kind(
    'image', loader='rgb8', channels=3, dtype='uint8',
    interpolation='bilinear', pad_value=0,
    normalize=dict(mean=IMAGENET_MEAN, std=IMAGENET_STD))
register_modality_kind(
    'depth', loader='depth', channels=1, dtype='float32',
    interpolation='nearest', pad_value=0, normalize='robust')
register_modality_kind(
    'label', loader='label_map', channels=1, dtype='int64',
    interpolation='nearest', pad_value=255, normalize='class_ids')
register_modality_kind(
    'normals', loader='normals', channels=3, dtype='float32',
    interpolation='bilinear', pad_value=0,
    flip_negate=dict(horizontal=0, vertical=1), unit_vectors=True)
register_modality_kind(
    'edge', loader='edge', channels=1, dtype='int64',
    interpolation='nearest', pad_value=255)
register_modality_kind(
    'binary', loader='saliency', channels=1, dtype='int64',
    interpolation='nearest', pad_value=255)
