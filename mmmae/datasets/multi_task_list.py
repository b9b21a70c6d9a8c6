"""Base class of the multi-task benchmarks stored as a split list of ids.

NYUD-MT and PASCAL-Context MT are distributed as one folder per task and a
text file per split that lists image ids; each task's file of an id is found
by trying the candidate locations in order (the formats vary between
releases: ``.npy`` or ``.png`` normals, VOC12 or context semseg).
"""
import os.path as osp
from typing import Dict, List, Sequence, Tuple

from mmengine.dataset import BaseDataset

from .nyuv2 import _check_subset

# A candidate location: (folder relative to data_root, file suffix).
Candidates = Sequence[Tuple[str, str]]


class MultiTaskListDataset(BaseDataset):
    """Images and any subset of tasks, listed by a split file of ids.

    Subclasses set ``TASKS`` (allowed tasks), ``IMAGE`` and ``TASK_FILES``
    (candidate locations), ``SPLIT_FILE`` (a format string of ``split``) and
    may extend :meth:`sample_info`.

    Args:
        data_root (str): The benchmark's root folder.
        split (str): Name of the split file (e.g. 'train', 'val').
        tasks (Sequence[str], optional): Ground truth to load, a subset of
            ``TASKS``. None loads all of them.
        **kwargs: ``pipeline``, ``test_mode``, ``indices``, ``metainfo``,
            ``serialize_data``, ``lazy_init`` of mmengine's BaseDataset.

    Each sample holds ``rgb_path`` (= ``img_path``), ``<task>_path`` per
    task, ``modalities=('rgb',)`` and ``targets=tasks``;
    ``metainfo['tasks']`` lists the tasks.
    """

    TASKS: Tuple[str, ...] = ()
    IMAGE: Candidates = ()
    TASK_FILES: Dict[str, Candidates] = {}
    SPLIT_FILE = ''
    NAME = ''

    def __init__(self, data_root: str, split: str = 'train',
                 tasks: Sequence[str] = None, **kwargs):
        if not data_root or not osp.isdir(data_root):
            raise FileNotFoundError(
                f'{self.NAME} data root "{data_root}" does not exist '
                '(docs/multi_task_dense.md, section Datasets)')
        self.split = split
        self.tasks = _check_subset(self.TASKS if tasks is None else tasks,
                                   self.TASKS, 'tasks')
        kwargs['metainfo'] = dict(kwargs.get('metainfo') or {},
                                  tasks=self.tasks)
        super().__init__(data_root=data_root, **kwargs)

    def _split_ids(self) -> List[str]:
        path = osp.join(self.data_root, self.SPLIT_FILE.format(
            split=self.split))
        if not osp.isfile(path):
            raise FileNotFoundError(f'{self.NAME} split file {path} does not '
                                    f'exist (split="{self.split}")')
        with open(path) as f:
            ids = [line.strip() for line in f if line.strip()]
        if not ids:
            raise ValueError(f'{self.NAME} split file {path} lists no ids')
        return ids

    def _find(self, what: str, candidates: Candidates, sid: str) -> str:
        tried = []
        for folder, suffix in candidates:
            path = osp.join(self.data_root, folder, sid + suffix)
            if osp.isfile(path):
                return path
            tried.append(path)
        raise FileNotFoundError(
            f'{self.NAME}: no {what} file for id "{sid}" of split '
            f'"{self.split}"; tried {tried}')

    def sample_info(self, sid: str) -> dict:
        """The data info of one id (paths and decoding options)."""
        info = dict(modalities=('rgb', ), targets=self.tasks, seg_fields=[],
                    sample_id=sid)
        info['rgb_path'] = info['img_path'] = self._find(
            'image', self.IMAGE, sid)
        for task in self.tasks:
            info[f'{task}_path'] = self._find(task, self.TASK_FILES[task],
                                              sid)
        return info

    def load_data_list(self) -> List[dict]:
        return [self.sample_info(sid) for sid in self._split_ids()]
