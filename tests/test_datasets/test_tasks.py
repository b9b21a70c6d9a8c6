import pytest

from mmmae.datasets import TASK_FIELDS, NYUv2MultiTaskDataset, check_tasks


def test_check_tasks_names_missing_and_unknown():
    assert check_tasks(('semseg', 'depth'), ['depth']) == ('depth', )
    with pytest.raises(KeyError, match=r"\['normals'\] are not provided by "
                       r"NYUv2, .*\['semseg', 'depth'\]"):
        check_tasks(('semseg', 'depth'), ('depth', 'normals'), 'NYUv2')
    with pytest.raises(KeyError, match="unknown task.*'surface'"):
        check_tasks(('semseg', ), ('surface', ))


def test_every_dataset_lists_its_tasks(synth_root):
    ds = NYUv2MultiTaskDataset(synth_root, split='test',
                               targets=('normals', 'edge', 'semseg'))
    assert ds.metainfo['tasks'] == ('normals', 'edge', 'semseg')
    check_tasks(ds.metainfo['tasks'], ('edge', ))
    with pytest.raises(KeyError, match="'depth'"):
        check_tasks(ds.metainfo['tasks'], ('depth', ))
    assert TASK_FIELDS['semseg'].field == 'gt_sem_seg'
