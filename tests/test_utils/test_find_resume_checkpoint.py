"""Which checkpoint an automatic --resume takes from a damaged work dir
(mmmae/utils/resume.py)."""
import logging
import os
import os.path as osp

import pytest
import torch
from mmengine.logging import MMLogger

from mmmae.utils.atomic_io import atomic_torch_save
from mmmae.utils.resume import checkpoint_problem, find_resume_checkpoint


@pytest.fixture
def work_dir(tmp_path):
    for step in (2, 4, 6):
        atomic_torch_save(dict(meta=dict(iter=step), state_dict={}),
                          str(tmp_path / f'iter_{step}.pth'))
    # Not run state: never resumed from, whatever their number.
    atomic_torch_save({}, str(tmp_path / 'best_mIoU_iter_8.pth'))
    atomic_torch_save({}, str(tmp_path / 'iter_8-1a2b3c4d.pth'))
    return tmp_path


@pytest.fixture
def log(caplog):
    # print_log(logger='current') goes to MMLogger, which does not
    # propagate; route it to caplog.
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    yield caplog
    logger.removeHandler(caplog.handler)


def _record(work_dir, text):
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(text)


def _truncate(path, keep=0.5):
    size = osp.getsize(path)
    with open(path, 'r+b') as f:
        f.truncate(int(size * keep))


def test_complete_and_damaged_files(work_dir):
    good = str(work_dir / 'iter_6.pth')
    assert checkpoint_problem(good) is None
    assert 'does not exist' in checkpoint_problem(str(work_dir / 'no.pth'))
    _truncate(good, 0)
    assert 'empty' in checkpoint_problem(good)
    bad = str(work_dir / 'iter_4.pth')
    _truncate(bad)
    assert 'truncated' in checkpoint_problem(bad)
    # A flipped byte inside a stored tensor keeps the archive readable; the
    # CRC check finds it.
    atomic_torch_save({'w': torch.zeros(64)}, good)
    data = bytearray(open(good, 'rb').read())
    at = data.index(bytes(64 * 4))
    data[at + 7] ^= 0xFF
    open(good, 'wb').write(bytes(data))
    assert 'CRC' in checkpoint_problem(good)
    legacy = str(work_dir / 'legacy.pth')
    torch.save({'w': torch.zeros(2)}, legacy,
               _use_new_zipfile_serialization=False)
    assert checkpoint_problem(legacy) is None
    _truncate(legacy)
    assert 'truncated' in checkpoint_problem(legacy)


def test_intact_record_is_taken(work_dir, log):
    _record(work_dir, str(work_dir / 'iter_4.pth'))
    assert find_resume_checkpoint(str(work_dir)) == str(work_dir /
                                                        'iter_4.pth')
    assert 'named by last_checkpoint' in log.text


@pytest.mark.parametrize('record', ['', '  \n'])
def test_empty_record(work_dir, log, record):
    _record(work_dir, record)
    assert find_resume_checkpoint(str(work_dir)) == str(work_dir /
                                                        'iter_6.pth')
    assert 'last_checkpoint is empty; resuming from' in log.text
    assert 'iter_6.pth, the newest complete checkpoint' in log.text


def test_missing_record(work_dir, log):
    assert find_resume_checkpoint(str(work_dir)) == str(work_dir /
                                                        'iter_6.pth')
    assert 'last_checkpoint does not exist; resuming from' in log.text


def test_dangling_record(work_dir, log):
    os.remove(work_dir / 'iter_6.pth')
    _record(work_dir, str(work_dir / 'iter_6.pth'))
    assert find_resume_checkpoint(str(work_dir)) == str(work_dir /
                                                        'iter_4.pth')
    assert 'iter_6.pth, but the file does not exist' in log.text


def test_truncated_record_and_older_truncated(work_dir, log):
    _truncate(work_dir / 'iter_6.pth')
    _truncate(work_dir / 'iter_4.pth', 0)
    _record(work_dir, str(work_dir / 'iter_6.pth'))
    assert find_resume_checkpoint(str(work_dir)) == str(work_dir /
                                                        'iter_2.pth')
    assert 'iter_6.pth, but it is truncated' in log.text
    assert 'skipped ' + str(work_dir / 'iter_4.pth') + ': the file is ' \
        'empty' in log.text


def test_record_into_another_folder(tmp_path, work_dir, log):
    """CheckpointHook(out_dir=...) saves outside the work dir."""
    run = tmp_path / 'run'
    os.makedirs(run)
    _truncate(work_dir / 'iter_6.pth')
    _record(run, str(work_dir / 'iter_6.pth'))
    assert find_resume_checkpoint(str(run)) == str(work_dir / 'iter_4.pth')


def test_nothing_usable_starts_from_scratch(tmp_path, work_dir, log):
    fresh = tmp_path / 'fresh'
    assert find_resume_checkpoint(str(fresh)) is None
    assert 'training starts from scratch' in log.text
    assert 'WARNING' not in log.text  # an ordinary first start

    for step in (2, 4, 6):
        _truncate(work_dir / f'iter_{step}.pth')
    _record(work_dir, '')
    log.clear()
    assert find_resume_checkpoint(str(work_dir)) is None
    assert 'last_checkpoint is empty, and no other complete checkpoint' \
        in log.text
    assert 'training starts from scratch' in log.text
    assert 'WARNING' in log.text
