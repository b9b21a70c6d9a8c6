import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from mmmae.evaluation.metrics import PART_CLASSES


def _labels(values):
    return torch.tensor(values).view(1, 1, -1)


def _invpt_parts_miou(pairs, n=7, ignore=255):
    """ASTMT/InvPT HumanPartsMeter: tp/fp/fn over valid pixels of the
    dataset, IoU = tp / max(tp + fp + fn, 1e-8), mean over all classes;
    maps with no part are all-ignored (AddIgnoreRegions)."""
    tp, fp, fn = np.zeros(n), np.zeros(n), np.zeros(n)
    for pred, gt in pairs:
        pred, gt = np.asarray(pred), np.asarray(gt)
        if ((gt == 0) | (gt == ignore)).all():
            gt = np.full_like(gt, ignore)
        valid = gt != ignore
        for c in range(n):
            tp[c] += ((gt == c) & (pred == c) & valid).sum()
            fp[c] += ((gt != c) & (pred == c) & valid).sum()
            fn[c] += ((gt == c) & (pred != c) & valid).sum()
    return 100 * np.mean(tp / np.maximum(tp + fp + fn, 1e-8))


def test_semseg_and_parts_in_one_evaluator(make_sample):
    seg_pred, seg_gt = [0, 1, 2, 2], [0, 1, 1, 2]
    images = [([0, 1, 1, 3, 255], [0, 1, 2, 3, 255]),  # parts present
              ([2, 2, 0, 0, 0], [0, 0, 0, 0, 255])]  # no part: skipped
    ev = Evaluator([dict(type='mmseg.IoUMetric'),
                    dict(type='HumanPartsIoUMetric')])
    ev.dataset_meta = dict(classes=('a', 'b', 'c'))
    ev.process([make_sample(f'{k}.png',
                            pred_sem_seg=_labels(seg_pred),
                            gt_sem_seg=_labels(seg_gt),
                            pred_parts=_labels(p), gt_parts=_labels(g))
                for k, (p, g) in enumerate(images)])
    out = ev.evaluate(2)
    # semseg (mmseg, both images): class IoUs 1, 1/2, 1/2.
    assert out['mIoU'] == pytest.approx(round(100 * 2 / 3, 2))
    # parts: 7 classes, absent ones count 0; the second image is skipped.
    assert out['parts/mIoU'] == pytest.approx(
        round(_invpt_parts_miou(images), 2))
    assert out['parts/mIoU'] == pytest.approx(round(100 * 2.5 / 7, 2))


def test_task_iou_metric_reads_keys_and_class_names(make_sample):
    ev = Evaluator([dict(type='TaskIoUMetric', pred_key='pred_b',
                         gt_key='gt_b', classes_key='b_classes',
                         prefix='b')])
    ev.dataset_meta = dict(classes=('x', ), b_classes=('u', 'v'))
    ev.process([make_sample(pred_b=_labels([0, 1]), gt_b=_labels([0, 0]))])
    assert ev.evaluate(1)['b/mIoU'] == pytest.approx(25.0)  # 1/2, 0 / 1


def test_missing_class_names_and_fields_are_named(make_sample):
    ev = Evaluator([dict(type='TaskIoUMetric', classes_key='nope',
                         prefix='b')])
    ev.dataset_meta = dict(classes=('x', ))
    with pytest.raises(KeyError, match="'nope'"):
        ev.process([make_sample(pred_sem_seg=_labels([0]),
                                gt_sem_seg=_labels([0]))])
    ev = Evaluator([dict(type='HumanPartsIoUMetric')])
    with pytest.raises(KeyError, match="'gt_parts'"):
        ev.process([make_sample(pred_parts=_labels([0]))])


def test_part_classes():
    assert PART_CLASSES == ('background', 'head', 'torso', 'uarm', 'larm',
                            'uleg', 'lleg')
