"""NYUv2 in the folder layout written by ``tools/dataset_converters``."""
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmengine.dataset import BaseDataset

from mmmae.registry import DATASETS
from .nyuv2_classes import NYUV2_CLASSES, NYUV2_PALETTE

MODALITIES = ('rgb', 'depth')
TARGETS = ('depth', 'semseg', 'normals', 'edge', 'sal')


def _check_subset(values, allowed, arg):
    values = tuple(values)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f'{arg}={values}: {unknown} not among {allowed}')
    if len(set(values)) != len(values):
        raise ValueError(f'{arg}={values} has duplicates')
    return values


@DATASETS.register_module()
class NYUv2MultiTaskDataset(BaseDataset):
    """NYUv2 for depth, 40-class segmentation, normals and boundaries.

    Layout (DESIGN.md section 5, written by ``tools/dataset_converters/
    nyuv2.py`` and by the synthetic generator)::

        data_root/{train,test}/rgb/<name>.png          8-bit RGB
        data_root/{train,test}/depth/<name>.png        uint16 millimetres
        data_root/{train,test}/semseg/<name>.png       0 unlabelled, 1..40
        data_root/{train,test}/mask_valid/<name>.png   0 invalid, 255 valid
        data_root/{train,test}/normals/<name>.png      16-bit RGB (n+1)/2
        data_root/{train,test}/edge/<name>.png         8-bit, 255 boundary
        data_root/{train,test}/sal/<name>.png          8-bit, 255 salient
                                                       (synthetic set only)

    Any subset of the tasks can be loaded; only their folders must exist.
    ``metainfo['tasks']`` lists the loaded ones (``targets``).

    Each sample lists the paths the pipeline needs: ``<name>_path`` for every
    input modality and target, ``mask_valid_path`` when depth is read and
    ``use_mask_valid`` is set, ``img_path`` (the rgb file when there is one;
    mmseg metrics name outputs after it), and ``modalities`` / ``targets`` so
    that ``LoadMultiModalFromFile`` knows what is an input. Names come from
    the first needed folder (sorted); every other needed file must exist.

    Args:
        data_root (str): Dataset root, e.g. ``data/nyuv2``.
        split (str): 'train' or 'test'; sets the default ``data_prefix``.
        modalities (Sequence[str]): Inputs, a non-empty subset of
            ('rgb', 'depth'). Default ('rgb',).
        targets (Sequence[str]): Ground truth to load, a subset of
            ('depth', 'semseg', 'normals', 'edge', 'sal'). Default
            ('depth', 'semseg'), the folders every version of the layout
            has.
        use_mask_valid (bool): Read ``mask_valid`` with depth (missing files
            are an error). If False, only depth 0 is invalid. Default True.
        data_prefix (dict, optional): Folder per name (rgb, depth, semseg,
            mask_valid, normals, edge, sal), relative to ``data_root``. Default
            ``{name: f'{split}/{name}'}``.
        suffix (str): File suffix. Default '.png'.
        **kwargs: ``pipeline``, ``test_mode``, ``indices``, ``metainfo``,
            ``serialize_data``, ``lazy_init`` of mmengine's BaseDataset.

    Shapes:
        sample -> dict(inputs={m: (C_m, H, W)}, data_samples=SegDataSample)
        after ``PackMultiModalInputs``
    """

    METAINFO = dict(classes=NYUV2_CLASSES, palette=NYUV2_PALETTE)

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 modalities: Sequence[str] = ('rgb', ),
                 targets: Sequence[str] = ('depth', 'semseg'),
                 use_mask_valid: bool = True,
                 data_prefix: Optional[dict] = None,
                 suffix: str = '.png',
                 **kwargs):
        if not data_root or not osp.isdir(data_root):
            raise FileNotFoundError(
                f'NYUv2 data root "{data_root}" does not exist; convert the '
                'official files with tools/dataset_converters/nyuv2.py or '
                'generate the synthetic set with tools/dataset_converters/'
                'synthetic_nyuv2.py (docs/tutorials/prepare_nyuv2.md)')
        self.split = split
        self.modalities = _check_subset(modalities, MODALITIES, 'modalities')
        if not self.modalities:
            raise ValueError('modalities must name at least one input')
        self.targets = _check_subset(targets, TARGETS, 'targets')
        self.use_mask_valid = use_mask_valid
        self.suffix = suffix
        if data_prefix is None:
            if split not in ('train', 'test'):
                raise ValueError(f'split must be "train" or "test", got '
                                 f'"{split}" (or pass data_prefix)')
            data_prefix = {
                name: f'{split}/{name}'
                for name in ('rgb', 'depth', 'semseg', 'mask_valid',
                             'normals', 'edge', 'sal')
            }
        kwargs['metainfo'] = dict(kwargs.get('metainfo') or {},
                                  tasks=self.targets)
        super().__init__(data_root=data_root, data_prefix=data_prefix,
                         **kwargs)

    def _needed(self) -> List[str]:
        names = list(self.modalities)
        names += [t for t in self.targets if t not in names]
        if 'depth' in names and self.use_mask_valid:
            names.append('mask_valid')
        return names

    def _folder(self, name: str) -> str:
        if name not in self.data_prefix:
            raise KeyError(f'data_prefix has no folder for "{name}"')
        folder = self.data_prefix[name]
        if not osp.isdir(folder):
            hint = (' (set use_mask_valid=False to rely on depth == 0 alone)'
                    if name == 'mask_valid' else '')
            if name in ('normals', 'edge', 'sal'):
                hint = (f' (task "{name}" needs a dataset written by the '
                        'current tools/dataset_converters/nyuv2.py or '
                        'synthetic_nyuv2.py; rerun them with --overwrite)')
            raise FileNotFoundError(
                f'{name} folder "{folder}" does not exist under data root '
                f'"{self.data_root}"{hint}')
        return folder

    def _stems(self, folder: str) -> List[str]:
        """Sorted sample names (file names without the suffix)."""
        return sorted(
            f[:-len(self.suffix)] for f in os.listdir(folder)
            if f.endswith(self.suffix) and not f.startswith('.'))

    def load_data_list(self) -> List[dict]:
        names = self._needed()
        folders = {n: self._folder(n) for n in names}
        first = folders[names[0]]
        stems = self._stems(first)
        if not stems:
            raise ValueError(f'split "{self.split}" is empty: no '
                             f'*{self.suffix} files in {first}')
        data_list = []
        for stem in stems:
            info = dict(modalities=self.modalities, targets=self.targets,
                        reduce_zero_label=True,
                        num_classes=len(NYUV2_CLASSES), seg_fields=[])
            for name in names:
                path = osp.join(folders[name], stem + self.suffix)
                if not osp.isfile(path):
                    raise FileNotFoundError(
                        f'missing {name} file {path} for sample "{stem}" '
                        f'(found in {first})')
                info[f'{name}_path'] = path
            # mmseg names metric outputs after img_path: the rgb file when
            # it exists, even if rgb is not an input.
            rgb = osp.join(self.data_prefix.get('rgb', ''), stem + self.suffix)
            info['img_path'] = info.get('rgb_path') or (
                rgb if osp.isfile(rgb) else info[f'{names[0]}_path'])
            data_list.append(info)
        return data_list
