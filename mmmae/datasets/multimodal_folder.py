"""Pre-training data: an image folder with pseudo-label folders beside it."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmengine.dataset import BaseDataset

from mmmae.registry import DATASETS

DEFAULT_SUFFIXES = dict(
    rgb=('.jpg', '.jpeg', '.png', '.JPEG', '.JPG', '.PNG'),
    depth=('.png', ),
    semseg=('.png', ))


def _index(folder: str, suffixes: Sequence[str]) -> Dict[str, str]:
    """{relative path without suffix: file path} of a folder tree."""
    index = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files:
            if name.startswith('.'):
                continue  # temp files of an unfinished atomic write
            for suffix in suffixes:
                if name.endswith(suffix):
                    path = osp.join(root, name)
                    rel = osp.relpath(path, folder)[:-len(suffix)]
                    index[rel] = path
                    break
    return index


@DATASETS.register_module()
class MultiModalFolderDataset(BaseDataset):
    """Folders of one modality each, matched by file name (MultiMAE style).

    ::

        data_root/rgb/<rel>/<name>.jpg     any image folder (ImageNet, ...)
        data_root/depth/<rel>/<name>.png   uint16 depth (pseudo label)
        data_root/semseg/<rel>/<name>.png  8-bit class ids (pseudo label)

    A sample is one file of the first modality's folder; every other
    modality needs the file with the same relative path and name (any of its
    suffixes), or loading fails naming the file that has no match. Samples
    carry no targets: pre-training reconstructs the inputs. The pipeline
    keeps semseg at full resolution; ``MultiMAEDataPreprocessor``
    (``semseg_stride=4``) brings it to quarter resolution, after the shared
    random resized crop and flip.

    Args:
        data_root (str): Root folder.
        modalities (Sequence[str]): Modality folders to load. Default
            ('rgb', 'depth', 'semseg').
        data_prefix (dict, optional): Folder per modality relative to
            ``data_root``. Default ``{m: m}``.
        suffixes (dict, optional): Accepted file suffixes per modality; a
            modality beyond rgb, depth and semseg (a custom kind mapped in
            ``LoadMultiModalFromFile(modality_kinds=...)``) needs them.
        reduce_zero_label (bool): Label decoding for semseg. False keeps the
            ids (Mask2Former COCO pseudo labels: 0..132, 255 ignore); True
            reads NYUv2-style files (0 unlabelled, 1..K). Default False.
        num_classes (int, optional): Valid classes after decoding; larger ids
            are an error. None disables the check.
        **kwargs: ``pipeline``, ``indices``, ... of mmengine's BaseDataset.

    Shapes:
        sample -> dict(inputs={m: (C_m, H, W)}, data_samples=SegDataSample)
    """

    METAINFO = dict()

    def __init__(self,
                 data_root: str,
                 modalities: Sequence[str] = ('rgb', 'depth', 'semseg'),
                 data_prefix: Optional[dict] = None,
                 suffixes: Optional[dict] = None,
                 reduce_zero_label: bool = False,
                 num_classes: Optional[int] = None,
                 **kwargs):
        if not data_root or not osp.isdir(data_root):
            raise FileNotFoundError(
                f'pre-training data root "{data_root}" does not exist')
        self.modalities = tuple(modalities)
        if not self.modalities:
            raise ValueError('modalities must name at least one folder')
        self.suffixes = dict(DEFAULT_SUFFIXES, **(suffixes or {}))
        # Another modality (a custom kind, e.g. ir) needs its suffixes.
        unknown = set(self.modalities) - set(self.suffixes)
        if unknown:
            raise ValueError(f'unknown modalities {sorted(unknown)}; '
                             f'expected some of {sorted(DEFAULT_SUFFIXES)}, '
                             'or give the file suffixes of the others: '
                             "suffixes=dict(ir=('.tiff', ))")
        self.reduce_zero_label = reduce_zero_label
        self.num_classes = num_classes
        if data_prefix is None:
            data_prefix = {m: m for m in self.modalities}
        super().__init__(data_root=data_root, data_prefix=data_prefix,
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        folders = {}
        for m in self.modalities:
            folder = self.data_prefix.get(m)
            if folder is None or not osp.isdir(folder):
                raise FileNotFoundError(
                    f'{m} folder "{folder}" does not exist under data root '
                    f'"{self.data_root}"')
            folders[m] = folder
        first = self.modalities[0]
        indices = {m: _index(folders[m], self.suffixes[m])
                   for m in self.modalities}
        if not indices[first]:
            raise ValueError(f'no {first} files in {folders[first]}')
        data_list = []
        for rel in sorted(indices[first]):
            info = dict(modalities=self.modalities, targets=(),
                        reduce_zero_label=self.reduce_zero_label,
                        seg_fields=[])
            if self.num_classes is not None:
                info['num_classes'] = self.num_classes
            for m in self.modalities:
                path = indices[m].get(rel)
                if path is None:
                    raise FileNotFoundError(
                        f'{indices[first][rel]} has no matching {m} file: '
                        f'expected {osp.join(folders[m], rel)}'
                        f'{{{",".join(self.suffixes[m])}}}')
                info[f'{m}_path'] = path
            info['img_path'] = info[f'{first}_path']
            data_list.append(info)
        return data_list
