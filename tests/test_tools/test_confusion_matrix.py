"""tools/analysis_tools/confusion_matrix.py on the folders tools/test.py
--out writes: semseg on the synthetic NYUv2 set, human parts on a tiny
PASCAL-Context MT layout; counts checked against hand-made predictions,
and bad input named."""
import os
import os.path as osp
import re
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.datasets import generate_synthetic_nyuv2
from mmmae.registry import DATASETS, METRICS
from mmmae.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SEG_DEPTH = osp.join(ROOT, 'configs/multimae/multimae_vit-tiny_depth-seg_'
                     '1xb8-300i_nyuv2synth-64x64.py')
PASCAL = osp.join(ROOT, 'configs/multimae/multimae_vit-b_seg-parts-sal-'
                  'normals-edge_1xb2-40k_pascal-context-mt-512x512.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool('tools/analysis_tools/confusion_matrix.py')


@pytest.fixture(scope='module')
def nyu(tmp_path_factory):
    root = tmp_path_factory.mktemp('cm') / 'nyuv2_synth'
    generate_synthetic_nyuv2(str(root), num_train=1, num_test=2,
                             size=(48, 64))
    return root


def _gt(nyu, stem):
    """The NYUv2 coding read by hand: 0 unlabelled -> 255, 1..40 -> 0..39."""
    raw = cv2.imread(str(nyu / 'test' / 'semseg' / f'{stem}.png'),
                     cv2.IMREAD_UNCHANGED).astype(int)
    return np.where(raw == 0, 255, raw - 1)


def _write_preds(folder, preds):
    os.makedirs(folder, exist_ok=True)
    for stem, pred in preds.items():
        assert cv2.imwrite(osp.join(folder, f'{stem}.png'),
                           pred.astype(np.uint8))


def _run(tool, nyu, preds, out, *extra):
    return tool.main([
        SEG_DEPTH, str(preds), str(out), '--cfg-options',
        f'test_dataloader.dataset.data_root={nyu}', *extra])


def test_counts_of_hand_made_predictions(nyu, tmp_path, tool):
    gt0, gt1 = _gt(nyu, '000000'), _gt(nyu, '000001')
    assert (gt0 == 255).any()  # some pixels are ignored
    # Sample 0: everything predicted as class 0; sample 1: the truth, and
    # class 3 on its ignored pixels (which are not counted).
    preds = tmp_path / 'preds'
    _write_preds(preds / 'ioumetric', {
        '000000': np.zeros_like(gt0),
        '000001': np.where(gt1 == 255, 3, gt1)})
    result = _run(tool, nyu, preds, tmp_path / 'cm', '--save-npy')
    expected = np.zeros((40, 40), np.int64)
    for c in range(40):
        expected[c, 0] += (gt0 == c).sum()
        expected[c, c] += (gt1 == c).sum()
    assert (result['counts'] == expected).all()
    assert result['counts'].sum() == (gt0 != 255).sum() + (gt1 != 255).sum()
    assert (np.load(result['npy']) == expected).all()
    assert result['png'] == str(tmp_path / 'cm' /
                                'confusion_matrix_semseg.png')
    picture = cv2.imread(result['png'])
    assert picture.shape[0] > 600 and picture.shape[1] > 600
    # The metric sub-folder can also be named directly.
    again = _run(tool, nyu, preds / 'ioumetric', tmp_path / 'cm2')
    assert (again['counts'] == expected).all()


def test_label_beyond_the_classes_names_file_and_value(nyu, tmp_path, tool):
    gt0 = _gt(nyu, '000000')
    bad = np.zeros_like(gt0)
    y, x = np.argwhere(gt0 != 255)[0]
    bad[y, x] = 45
    preds = tmp_path / 'preds' / 'ioumetric'
    _write_preds(preds, {'000000': bad, '000001': np.zeros_like(gt0)})
    with pytest.raises(ValueError) as err:
        _run(tool, nyu, tmp_path / 'preds', tmp_path / 'cm')
    assert str(err.value) == (
        f'{preds / "000000.png"} (ground truth of '
        f'{nyu}/test/rgb/000000.png): predicted label 45 is outside the 40 '
        'classes (0..39)')
    assert not osp.exists(tmp_path / 'cm' / 'confusion_matrix_semseg.png')
    # Under an ignored pixel the same value is not counted.
    y, x = np.argwhere(gt0 == 255)[0]
    bad[:] = 0
    bad[y, x] = 45
    _write_preds(preds, {'000000': bad})
    assert tool.main([SEG_DEPTH, str(tmp_path / 'preds'),
                      str(tmp_path / 'cm'), '--cfg-options',
                      f'test_dataloader.dataset.data_root={nyu}'
                      ])['counts'][:, 0].sum() > 0


def test_task_the_dataset_lacks_and_missing_predictions(nyu, tmp_path, tool):
    with pytest.raises(tool.ConfusionMatrixError) as err:
        _run(tool, nyu, tmp_path, tmp_path / 'cm', '--task', 'parts')
    assert str(err.value) == (
        'task "parts" is not a task of the test dataset '
        f'(NYUv2MultiTaskDataset) of {SEG_DEPTH}, which has '
        "['depth', 'semseg']")
    missing = tmp_path / 'nothing'
    with pytest.raises(tool.ConfusionMatrixError, match=re.escape(
            f'prediction folder "{missing}" does not exist; write it with '
            f'python tools/test.py {SEG_DEPTH} CHECKPOINT --out {missing}')):
        _run(tool, nyu, missing, tmp_path / 'cm')
    # Only the depth metric's folder: no semseg predictions.
    _write_preds(tmp_path / 'preds' / 'depthmetric',
                 {'000000': np.zeros((48, 64))})
    with pytest.raises(tool.ConfusionMatrixError, match=re.escape(
            f'no semseg predictions in "{tmp_path / "preds"}": expected '
            f'PNGs in [\'{tmp_path / "preds" / "ioumetric"}\']; it holds '
            "the sub-folders ['depthmetric']")):
        _run(tool, nyu, tmp_path / 'preds', tmp_path / 'cm')
    # One test image without its prediction.
    _write_preds(tmp_path / 'preds' / 'ioumetric',
                 {'000000': np.zeros((48, 64))})
    with pytest.raises(tool.ConfusionMatrixError, match=re.escape(
            f'no prediction {tmp_path / "preds" / "ioumetric" / "000001.png"}'
            f' for test sample {nyu}/test/rgb/000001.png')):
        _run(tool, nyu, tmp_path / 'preds', tmp_path / 'cm')


def test_human_parts_saved_by_the_metric(tmp_path, tool):
    """HumanPartsIoUMetric writes what tools/test.py --out saves for parts;
    the tool reads it back with --task parts."""
    sys.path.insert(0, osp.join(ROOT, 'tests', 'test_datasets'))
    try:
        from mt_layouts import make_pascal_mt
    finally:
        sys.path.pop(0)
    data = tmp_path / 'PASCAL_MT'
    make_pascal_mt(str(data))
    register_all_modules()
    cfg = Config.fromfile(PASCAL)
    cfg.test_dataloader.dataset.data_root = str(data)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    out = tmp_path / 'preds' / 'humanpartsioumetric'
    metric = METRICS.build(dict(type='HumanPartsIoUMetric',
                                output_dir=str(out)))
    metric.dataset_meta = dataset.metainfo
    expected = np.zeros((7, 7), np.int64)
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        gt = sample.gt_parts.data[0].numpy()
        assert set(np.unique(gt)) - {255} == {0, 1, 2, 4}
        pred = np.where(gt == 255, 0, gt)
        pred[gt == 2] = 6  # the torso predicted as lower leg
        for c in range(7):
            expected[c, c] += ((gt == c) & (gt != 2)).sum()
        expected[2, 6] += (gt == 2).sum()
        ds = SegDataSample(metainfo=sample.metainfo)
        ds.gt_parts = sample.gt_parts
        ds.pred_parts = PixelData(data=torch.from_numpy(pred[None]))
        metric.process({}, [ds.to_dict()])
    assert sorted(os.listdir(out)) == ['2008_000003.png']
    result = tool.main([
        PASCAL, str(tmp_path / 'preds'), str(tmp_path / 'cm'), '--task',
        'parts', '--cfg-options', f'test_dataloader.dataset.data_root={data}'
    ])
    assert (result['counts'] == expected).all()
    assert osp.isfile(tmp_path / 'cm' / 'confusion_matrix_parts.png')


@pytest.mark.slow
def test_after_a_real_test_run_accuracy_matches_the_metric(nyu, tmp_path):
    """tools/test.py --out on an untrained tiny model, then the tool: its
    pixel accuracy is the aAcc mmseg's IoUMetric printed."""
    env = dict(os.environ, OMP_NUM_THREADS='1')
    ckpt = str(tmp_path / 'init.pth')
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/save_init_checkpoint.py',
         SEG_DEPTH, ckpt], cwd=ROOT, capture_output=True, text=True,
        env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    preds = str(tmp_path / 'preds')
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', SEG_DEPTH, ckpt, '--work-dir',
         str(tmp_path / 'work'), '--out', preds, '--cfg-options',
         f'test_dataloader.dataset.data_root={nyu}'],
        cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a_acc = [float(line.split('|')[1]) for line in proc.stdout.splitlines()
             if line.startswith('aAcc')][-1]
    proc = subprocess.run(
        [sys.executable, 'tools/analysis_tools/confusion_matrix.py',
         SEG_DEPTH, preds, str(tmp_path / 'cm'), '--save-npy',
         '--cfg-options', f'test_dataloader.dataset.data_root={nyu}'],
        cwd=ROOT, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = np.load(tmp_path / 'cm' / 'confusion_matrix_semseg.npy')
    assert counts.sum() == sum((_gt(nyu, s) != 255).sum()
                               for s in ('000000', '000001'))
    accuracy = 100 * np.trace(counts) / counts.sum()
    assert round(accuracy, 2) == pytest.approx(a_acc, abs=0.006)
    assert f'pixel accuracy {accuracy:.2f}%' in proc.stdout


def test_mmseg_ade20k_predictions_saved_plus_one(tmp_path, tool):
    """A single-metric mmseg config (ADE20K, reduce_zero_label): --out holds
    the PNGs itself, as label + 1, which mmseg's IoUMetric writes."""
    root = tmp_path / 'ADEChallengeData2016'
    rng = np.random.default_rng(0)
    expected = np.zeros((150, 150), np.int64)
    preds = tmp_path / 'preds'
    os.makedirs(preds)
    for i in range(2):
        for sub in ('images', 'annotations'):
            os.makedirs(root / sub / 'validation', exist_ok=True)
        cv2.imwrite(str(root / 'images' / 'validation' / f'ADE_{i}.jpg'),
                    rng.integers(0, 255, (20, 30, 3), dtype=np.uint8))
        on_disk = rng.integers(0, 151, (20, 30)).astype(np.uint8)
        cv2.imwrite(str(root / 'annotations' / 'validation' / f'ADE_{i}.png'),
                    on_disk)
        gt = on_disk.astype(int) - 1  # -1: ignored (0 on disk)
        pred = np.where(gt < 0, 0, gt)
        pred[:, :5] = 7  # a strip predicted as class 7
        for g, p in zip(gt[gt >= 0], pred[gt >= 0]):
            expected[g, p] += 1
        cv2.imwrite(str(preds / f'ADE_{i}.png'), (pred + 1).astype(np.uint8))
    cfg = osp.join(ROOT, 'configs/multimae/multimae_vit-b_convnext-head_'
                   '4xb4-amp-64e_ade20k-512x512.py')
    result = tool.main([cfg, str(preds), str(tmp_path / 'cm'),
                        '--cfg-options',
                        f'test_dataloader.dataset.data_root={root}'])
    assert (result['counts'] == expected).all()
