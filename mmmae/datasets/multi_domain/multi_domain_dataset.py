"""Multi-domain classification folders: one task per domain.

Layout (Office-Home, MiniDomainNet, or any such folder)::

    data_root/<domain>/<class>/<image>

Every domain must hold the same class folders; labels index the sorted
class names, so a label means the same class in every domain.

Train/test split, deterministic and documented (docs/mmap.md):

- default: per domain and class, the image names are sorted, shuffled with
  ``random.Random(f'{split_seed}/{domain}/{class}')`` (string seeds are
  hashed with SHA-512, so the order does not depend on PYTHONHASHSEED or
  the file system) and the first ``round(split_ratio * n)`` (at least 1,
  and at most n - 1 when n >= 2) form the train split, the rest the test
  split. Office-Home ships no official split; 80/20 is the usual choice;
- ``split_file``: official lists such as MiniDomainNet's
  ``splits_mini/{domain}_{split}.txt``, one ``<domain>/<class>/<image>
  [label]`` per line, relative to ``data_root``. Classes then come from the
  listed paths of both splits (a full DomainNet folder with 345 classes
  can serve the 126-class MiniDomainNet lists); the label column is ignored
  in favour of the sorted class names.

Validation split for model selection (``val_ratio`` > 0): per domain and
class, ``val_ratio`` of the TRAIN images (rounded, at least 1 and at most
n - 1 of a class of n >= 2) are held out as ``split='val'``, chosen by
``random.Random(f'{split_seed}/val/{domain}/{class}')`` over the sorted
names; ``split='train'`` is then the rest. The test split is never touched,
so configs select checkpoints on ``val`` and report ``test`` once. Train
and val datasets must share ``val_ratio`` and ``split_seed``.
"""
import os
import os.path as osp
import random
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.dataset import BaseDataset

from mmmae.registry import DATASETS
from .val_split import carve_val

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


@DATASETS.register_module()
class MultiDomainDataset(BaseDataset):
    """Image classification over several domains, one task per domain.

    Args:
        data_root (str): Folder holding one sub-folder per domain.
        domains (Sequence[str]): Domain (= task) names. A domain ``A_B``
            whose folder is missing is also looked up as ``A B`` and
            ``A-B`` (Office-Home's ``Real World``).
        split (str): ``'train'``, ``'val'`` (needs ``val_ratio`` > 0) or
            ``'test'``.
        split_ratio (float): Train share per class without split files.
        split_seed (int): Seed of the per-class splits (train/test and
            train/val).
        val_ratio (float): Share of each domain's and class's train images
            held out as ``'val'`` and removed from ``'train'``. Defaults to
            0 (no val split; ``'train'`` is the whole train list).
        split_file (str, optional): Split list pattern relative to
            ``data_root`` with ``{domain}`` and ``{split}``, e.g.
            ``'splits_mini/{domain}_{split}.txt'``.
        num_classes (int, optional): Expected class count; a mismatch is an
            error (catches a wrong root or a partial copy).
        **kwargs: ``pipeline``, ``test_mode``, ``indices``, ... of
            mmengine's ``BaseDataset``. ``metainfo=dict(classes=[...])``
            must then equal the sorted class folders, which keeps a
            config's class list (given to the model) and the labels in
            step.

    Each sample: ``dict(img_path, gt_label, task, domain, class_name)``.
    """

    METAINFO = dict(classes=None, tasks=None)

    def __init__(self,
                 data_root: str,
                 domains: Sequence[str],
                 split: str = 'train',
                 split_ratio: float = 0.8,
                 split_seed: int = 0,
                 split_file: Optional[str] = None,
                 num_classes: Optional[int] = None,
                 val_ratio: float = 0.,
                 **kwargs):
        if split not in ('train', 'val', 'test'):
            raise ValueError(
                f'split must be "train", "val" or "test", got {split}')
        if not 0. < split_ratio < 1.:
            raise ValueError(f'split_ratio={split_ratio} must be in (0, 1)')
        if not 0. <= val_ratio < 1.:
            raise ValueError(f'val_ratio={val_ratio} must be in [0, 1)')
        if split == 'val' and not val_ratio:
            raise ValueError('split="val" needs val_ratio > 0: the val split '
                             'is carved from the train split')
        if not domains:
            raise ValueError('MultiDomainDataset needs at least one domain')
        self.domains = tuple(domains)
        self.split = split
        self.split_ratio = split_ratio
        self.split_seed = split_seed
        self.split_file = split_file
        self.num_classes = num_classes
        self.val_ratio = val_ratio
        super().__init__(data_root=data_root, **kwargs)

    # -------------------------------------------------------------- folders
    def domain_dir(self, domain: str) -> str:
        for name in (domain, domain.replace('_', ' '),
                     domain.replace('_', '-')):
            path = osp.join(self.data_root, name)
            if osp.isdir(path):
                return path
        found = sorted(d for d in os.listdir(self.data_root)
                       if osp.isdir(osp.join(self.data_root, d))) \
            if osp.isdir(self.data_root) else []
        raise FileNotFoundError(f'domain folder "{domain}" not found in '
                                f'{self.data_root}; it has {found}')

    @staticmethod
    def _check_same_classes(per_domain: Dict[str, Sequence[str]],
                            where: str) -> List[str]:
        domains = list(per_domain)
        ref = set(per_domain[domains[0]])
        for d in domains[1:]:
            cur = set(per_domain[d])
            if cur != ref:
                missing = sorted(ref - cur)
                extra = sorted(cur - ref)
                raise ValueError(
                    f'domain "{d}" has other classes than domain '
                    f'"{domains[0]}" in {where}: missing {missing}, extra '
                    f'{extra}; every domain must hold the same class '
                    'folders')
        return sorted(ref)

    def _folder_split(self, domain: str, classes: Sequence[str]
                      ) -> Dict[str, List[Tuple[str, str]]]:
        """Seeded per-class train/test lists of one domain's folder."""
        root = self.domain_dir(domain)
        items = dict(train=[], test=[])
        for cls in classes:
            names = sorted(f for f in os.listdir(osp.join(root, cls))
                           if f.lower().endswith(IMG_EXTENSIONS))
            rng = random.Random(f'{self.split_seed}/{domain}/{cls}')
            rng.shuffle(names)
            n = len(names)
            n_train = min(max(round(self.split_ratio * n), 1),
                          n - 1 if n >= 2 else n)
            for split, chosen in (('train', names[:n_train]),
                                  ('test', names[n_train:])):
                items[split] += [(osp.join(root, cls, f), cls)
                                 for f in sorted(chosen)]
        return items

    def _read_split_file(self, domain: str, split: str
                         ) -> List[Tuple[str, str]]:
        path = osp.join(self.data_root,
                        self.split_file.format(domain=domain, split=split))
        if not osp.isfile(path):
            raise FileNotFoundError(f'split file for domain "{domain}", '
                                    f'split "{split}" not found: {path}')
        items = []
        with open(path) as f:
            for line_no, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                rel = line.split()[0]
                parts = rel.replace('\\', '/').split('/')
                if len(parts) < 3:
                    raise ValueError(f'{path}:{line_no}: "{rel}" is not '
                                     '<domain>/<class>/<image>')
                items.append((osp.join(self.data_root, rel), parts[-2]))
        return items

    # ----------------------------------------------------------------- load
    def load_data_list(self) -> List[dict]:
        if self.split_file is None:
            per_domain = {}
            for d in self.domains:
                root = self.domain_dir(d)
                per_domain[d] = [c for c in os.listdir(root)
                                 if osp.isdir(osp.join(root, c))]
            classes = self._check_same_classes(per_domain, self.data_root)
            items = {d: self._folder_split(d, classes) for d in self.domains}
        else:
            items = {d: {s: self._read_split_file(d, s)
                         for s in ('train', 'test')} for d in self.domains}
            per_domain = {d: {c for s in v.values() for _, c in s}
                          for d, v in items.items()}
            classes = self._check_same_classes(per_domain, self.split_file)
        if self.num_classes is not None and len(classes) != self.num_classes:
            raise ValueError(f'{self.data_root}: found {len(classes)} '
                             f'classes, expected {self.num_classes}')
        given = self._metainfo.get('classes')
        if given is not None and tuple(given) != tuple(classes):
            raise ValueError(
                f'{self.data_root}: metainfo classes (the config\'s class '
                'list, which the model uses) differ from the class folders: '
                f'only in config {sorted(set(given) - set(classes))}, only '
                f'on disk {sorted(set(classes) - set(given))}, or another '
                'order (labels follow the sorted folder names)')
        items = {d: self._pick_split(d, v) for d, v in items.items()}
        self._metainfo.update(classes=tuple(classes), tasks=self.domains)
        label = {c: i for i, c in enumerate(classes)}
        data_list = []
        for d in self.domains:
            if not items[d]:
                raise ValueError(f'domain "{d}" has no {self.split} images')
            for path, cls in items[d]:
                data_list.append(
                    dict(img_path=path, gt_label=label[cls], task=d,
                         domain=d, class_name=cls))
        return data_list

    def _pick_split(self, domain: str, splits: Dict[str, list]) -> list:
        """This dataset's items of one domain, from its train/test lists."""
        if self.split == 'test':
            return splits['test']
        train, val = carve_val(splits['train'], self.val_ratio,
                               f'{self.split_seed}/val/{domain}')
        return val if self.split == 'val' else train

    def get_task(self, idx: int) -> str:
        """Task of sample ``idx`` (used by ``MultiTaskMixedSampler``)."""
        return self.get_data_info(idx)['task']


@DATASETS.register_module()
class OfficeHomeDataset(MultiDomainDataset):
    """Office-Home (Venkateswara et al., CVPR 2017): 4 domains, 65 classes.

    Args:
        domains: Defaults to ``('Art', 'Clipart', 'Product', 'Real_World')``
            (the folder may be ``Real World``).
        num_classes: Defaults to 65.
    """

    def __init__(self,
                 data_root: str,
                 domains: Sequence[str] = ('Art', 'Clipart', 'Product',
                                           'Real_World'),
                 num_classes: Optional[int] = 65,
                 **kwargs):
        super().__init__(data_root, domains, num_classes=num_classes,
                         **kwargs)


@DATASETS.register_module()
class MiniDomainNetDataset(MultiDomainDataset):
    """MiniDomainNet (Zhou et al., 2021): 4 DomainNet domains, 126 classes.

    Args:
        domains: Defaults to ``('clipart', 'painting', 'real', 'sketch')``.
        num_classes: Defaults to 126.
        split_file: e.g. ``'splits_mini/{domain}_{split}.txt'`` (the
            official lists); without it, folders are split per class.
    """

    def __init__(self,
                 data_root: str,
                 domains: Sequence[str] = ('clipart', 'painting', 'real',
                                           'sketch'),
                 num_classes: Optional[int] = 126,
                 **kwargs):
        super().__init__(data_root, domains, num_classes=num_classes,
                         **kwargs)
