"""Which tasks share prompts: groups from a config dict or a grouping file.

A grouping file is the JSON that ``tools/analysis_tools/task_affinity.py``
writes; only its ``groups`` entry is read here::

    {"tasks": [...], "affinity": [[...]], "affinity_type": "cosine",
     "groups": {"group0": ["Art", ...], "group1": [...]}, ...}

(``affinity_type`` is ``"cosine"`` or ``"lookahead"``; the groups are used
the same way whichever measure made them.)
"""
import json
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Optional, Sequence, Tuple

Groups = 'OrderedDict[str, Tuple[str, ...]]'

_NAME = re.compile(r'^[A-Za-z0-9_\-]+$')


def load_grouping_file(path: str) -> Dict[str, Sequence[str]]:
    """The ``groups`` of a grouping JSON file."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'grouping file {path} not found; create it with '
            '`python tools/analysis_tools/task_affinity.py CONFIG '
            f'--out {path}`')
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict) or not isinstance(data.get('groups'),
                                                    dict):
        raise ValueError(f'grouping file {path} has no "groups" mapping '
                         '(group name -> list of tasks)')
    return data['groups']


def resolve_groups(tasks: Sequence[str],
                   groups: Optional[Dict[str, Sequence[str]]] = None,
                   grouping_file: Optional[str] = None) -> Groups:
    """Check a task partition and return it in a fixed order.

    Args:
        tasks (Sequence[str]): The model's tasks.
        groups (dict, optional): group name -> tasks.
        grouping_file (str, optional): JSON file with a ``groups`` entry.
            Give at most one of ``groups`` and ``grouping_file``; with
            neither, all tasks form one group ``'all'``.

    Returns:
        OrderedDict: group name -> tuple of tasks, groups ordered by their
        first task in ``tasks`` and tasks in ``tasks`` order, so the same
        partition always builds the same modules.

    Raises:
        ValueError: unknown tasks, tasks in no group or in two groups, or a
            group name that cannot name a module; the message names them
            and the file.
    """
    if groups is not None and grouping_file is not None:
        raise ValueError('give either groups or grouping_file, not both')
    source = 'groups'
    if grouping_file is not None:
        groups = load_grouping_file(grouping_file)
        source = f'grouping file {grouping_file}'
    if groups is None:
        return OrderedDict(all=tuple(tasks))

    seen: Dict[str, str] = {}
    for name, members in groups.items():
        if not _NAME.match(str(name)):
            raise ValueError(f'{source}: group name "{name}" must use only '
                             'letters, digits, "_" and "-"')
        unknown = [t for t in members if t not in tasks]
        if unknown:
            raise ValueError(f'{source} names unknown tasks {unknown} in '
                             f'group "{name}"; the model has tasks '
                             f'{list(tasks)}')
        for t in members:
            if t in seen:
                raise ValueError(f'{source}: task "{t}" is in groups '
                                 f'"{seen[t]}" and "{name}"')
            seen[t] = name
    missing = [t for t in tasks if t not in seen]
    if missing:
        raise ValueError(f'{source} leaves tasks {missing} in no group')
    order = sorted(groups, key=lambda g: min(
        list(tasks).index(t) for t in groups[g]) if groups[g] else len(tasks))
    return OrderedDict(
        (g, tuple(t for t in tasks if t in groups[g])) for g in order
        if groups[g])
