import numpy as np
import pytest
import torch
from mmseg.evaluation import IoUMetric

from mmmae.evaluation.functional import confusion_counts, normalize_confusion


def test_hand_built_three_classes():
    gt = np.array([[0, 0, 1],
                   [1, 2, 255],
                   [2, 2, 0]])
    pred = np.array([[0, 1, 1],
                     [2, 2, 0],  # 0 under the ignored pixel: not counted
                     [2, 0, 0]])
    counts = confusion_counts(gt, pred, num_classes=3)
    # rows: gt 0 (3 px), gt 1 (2 px), gt 2 (3 px)
    assert counts.tolist() == [[2, 1, 0],
                               [0, 1, 1],
                               [1, 0, 2]]
    assert counts.dtype == np.int64
    percent = normalize_confusion(counts)
    np.testing.assert_allclose(percent, [[200 / 3, 100 / 3, 0],
                                         [0, 50, 50],
                                         [100 / 3, 0, 200 / 3]])


def test_tensors_and_no_ignore():
    gt = torch.tensor([[0, 1], [1, 1]])
    pred = torch.tensor([[1, 1], [0, 1]])
    assert confusion_counts(gt, pred, 2, ignore_index=None).tolist() == \
        [[0, 1], [1, 2]]


def test_row_without_ground_truth_is_nan():
    counts = confusion_counts([0, 0, 2], [0, 2, 2], 3)
    assert counts.tolist() == [[1, 0, 1], [0, 0, 0], [0, 0, 1]]
    percent = normalize_confusion(counts)
    assert np.isnan(percent[1]).all()
    np.testing.assert_allclose(percent[[0, 2]], [[50, 0, 50], [0, 0, 100]])


def test_agrees_with_mmseg_intersect_and_union():
    """Diagonal = intersections, row sums = gt areas, column sums =
    predicted areas, as mmseg's IoUMetric counts them."""
    rng = np.random.default_rng(0)
    gt = rng.integers(0, 6, (37, 41))
    gt[rng.random(gt.shape) < 0.2] = 255
    pred = rng.integers(0, 6, (37, 41))
    counts = confusion_counts(gt, pred, 6)
    inter, union, area_pred, area_gt = IoUMetric.intersect_and_union(
        torch.from_numpy(pred), torch.from_numpy(gt), 6, 255)
    assert counts.diagonal().tolist() == inter.long().tolist()
    assert counts.sum(1).tolist() == area_gt.long().tolist()
    assert counts.sum(0).tolist() == area_pred.long().tolist()


def test_bad_labels_name_the_sample_and_value():
    with pytest.raises(ValueError, match=r'a\.png: ground-truth label 7 is '
                       r'outside the 3 classes \(0\.\.2\) and is not the '
                       r'ignore index 255'):
        confusion_counts([[0, 7]], [[0, 1]], 3, name='a.png')
    with pytest.raises(ValueError, match=r'b\.png: predicted label 3 is '
                       r'outside the 3 classes'):
        confusion_counts([[0, 1]], [[0, 3]], 3, name='b.png')
    # A bad prediction under an ignored pixel is not counted, so no error.
    assert confusion_counts([[255, 1]], [[9, 1]], 3).sum() == 1
    with pytest.raises(ValueError, match=r'c\.png: ground truth \(2, 2\) '
                       r'and prediction \(2, 3\) differ in shape'):
        confusion_counts(np.zeros((2, 2)), np.zeros((2, 3)), 3, name='c.png')
    with pytest.raises(ValueError, match='square'):
        normalize_confusion(np.zeros((2, 3)))
