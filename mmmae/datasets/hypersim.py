"""Hypersim semantic segmentation in the MultiMAE reference's folder layout."""
import os
import os.path as osp
from typing import List, Optional, Sequence

from mmmae.registry import DATASETS
from .nyuv2 import NYUv2MultiTaskDataset

SPLITS = ('train', 'val', 'test')


@DATASETS.register_module()
class HypersimDataset(NYUv2MultiTaskDataset):
    """Hypersim (Roberts et al., 2021) for 40-class semantic segmentation.

    The layout of the MultiMAE reference (``utils/dataset_folder.py``,
    ``MultiTaskImageFolder``: ``<split>/<task>/<folder>/<file>``, one folder
    per scene, files paired by their relative path)::

        data_root/{train,val,test}/rgb/<scene>/<name>.png     8-bit RGB
        data_root/{train,val,test}/depth/<scene>/<name>.png   uint16 depth
        data_root/{train,val,test}/semseg/<scene>/<name>.png  0 unlabelled,
                                                              1..40

    The 40 classes are the NYUv2-40 ones (the reference's
    ``hypersim_classes()``); label 0 is ignored (``seg_reduce_zero_label:
    True`` in the reference configs), 1..40 become 0..39. Depth is an input
    only (the reference standardises it per image, so its unit does not
    matter) and has no ``mask_valid`` folder.

    Args:
        data_root (str): Dataset root.
        split (str): 'train', 'val' or 'test'. Default 'train'.
        modalities (Sequence[str]): Inputs, a non-empty subset of
            ('rgb', 'depth'). Default ('rgb',).
        targets (Sequence[str]): Default ('semseg',).
        data_prefix (dict, optional): Folder per name relative to
            ``data_root``; default ``{name: f'{split}/{name}'}``.
        **kwargs: as ``NYUv2MultiTaskDataset``.

    Shapes:
        sample -> dict(inputs={m: (C_m, H, W)}, data_samples=SegDataSample)
        after ``PackMultiModalInputs``; ``gt_sem_seg`` (1, H, W) in 0..39
        or 255.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 modalities: Sequence[str] = ('rgb', ),
                 targets: Sequence[str] = ('semseg', ),
                 data_prefix: Optional[dict] = None,
                 **kwargs):
        if data_prefix is None:
            if split not in SPLITS:
                raise ValueError(f'Hypersim split must be one of {SPLITS}, '
                                 f'got "{split}" (or pass data_prefix)')
            data_prefix = {n: f'{split}/{n}' for n in ('rgb', 'depth',
                                                      'semseg')}
        unsupported = [t for t in targets if t != 'semseg']
        if unsupported:
            raise ValueError(f'HypersimDataset: targets {unsupported} are '
                             'not supported; only ("semseg",)')
        kwargs.setdefault('use_mask_valid', False)
        if not data_root or not osp.isdir(data_root):
            raise FileNotFoundError(
                f'Hypersim data root "{data_root}" does not exist; it holds '
                '<split>/{rgb,depth,semseg}/<scene>/<name>.png '
                '(docs/transfer.md)')
        super().__init__(data_root=data_root, split=split,
                         modalities=modalities, targets=targets,
                         data_prefix=data_prefix, **kwargs)

    def _stems(self, folder: str) -> List[str]:
        """Relative paths (scene folder / name) without the suffix."""
        stems = []
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            rel = osp.relpath(root, folder)
            for f in files:
                if f.endswith(self.suffix) and not f.startswith('.'):
                    stem = f[:-len(self.suffix)]
                    stems.append(stem if rel == '.' else osp.join(rel, stem))
        return sorted(stems)
