"""Outputs never overwrite inputs: the checks, the --show-dir hook and
tools/test.py --out/--show-dir inside the dataset."""
import os
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.engine.hooks import MultiTaskVisualizationHook
from mmmae.utils.output_guard import (OutputOverwritesInputError,
                                      check_out_dir_outside,
                                      check_outputs_spare_inputs, data_roots)
from mmmae.visualization import MultiTaskLocalVisualizer


def test_same_file_checks(tmp_path):
    img = tmp_path / 'a.png'
    img.write_bytes(b'x')
    os.link(img, tmp_path / 'hard.png')
    inputs = dict(image=str(img), depth=None)
    with pytest.raises(OutputOverwritesInputError,
                       match=f'output file .*a.png is the input image'):
        check_outputs_spare_inputs([str(tmp_path / '.' / 'a.png')], inputs)
    with pytest.raises(OutputOverwritesInputError, match='hard.png'):
        check_outputs_spare_inputs([str(tmp_path / 'hard.png')], inputs)
    check_outputs_spare_inputs([str(tmp_path / 'a_depth.png')], inputs)


def test_out_dir_inside_data_root(tmp_path):
    root = tmp_path / 'data'
    with pytest.raises(OutputOverwritesInputError,
                       match='--out .*semseg is inside the dataset root'):
        check_out_dir_outside(str(root / 'test' / 'semseg'), str(root),
                              '--out')
    with pytest.raises(OutputOverwritesInputError):
        check_out_dir_outside(str(root), str(root), '--show-dir')
    check_out_dir_outside(str(tmp_path / 'data_preds'), str(root), '--out')
    check_out_dir_outside(str(root), None, '--out')
    cfg = dict(type='ConcatDataset', datasets=[
        dict(type='A', data_root='data/a'),
        dict(type='RepeatDataset', dataset=dict(data_root='data/b')),
        dict(type='A', data_root='data/a')
    ])
    assert data_roots(cfg) == ['data/a', 'data/b']


def test_show_dir_hook_refuses_input_folder(tmp_path):
    MultiTaskLocalVisualizer.get_instance(f'vis_{tmp_path.name}')
    img = tmp_path / '0.png'
    cv2.imwrite(str(img), np.full((16, 16, 3), 77, np.uint8))
    before = img.read_bytes()
    hook = MultiTaskVisualizationHook(draw=True, show_dir=str(tmp_path))
    sample = SegDataSample(metainfo=dict(img_path=str(img)))
    sample.pred_depth_map = PixelData(data=torch.rand(1, 16, 16) + 1)
    with pytest.raises(OutputOverwritesInputError, match='0.png'):
        hook.after_test_iter(SimpleNamespace(iter=0), 0, {}, [sample])
    assert img.read_bytes() == before


@pytest.mark.parametrize('option', ['--out', '--show-dir'])
def test_tools_test_refuses_output_inside_dataset(tmp_path, option,
                                                  load_tool):
    tool = load_tool('tools/test.py', 'test_tool')
    root = tmp_path / 'nyuv2'
    ckpt = tmp_path / 'iter_1.pth'
    ckpt.write_bytes(b'')
    cfg = Config(dict(
        test_dataloader=dict(dataset=dict(type='NYUv2MultiTaskDataset',
                                          data_root=str(root))),
        test_evaluator=dict(type='mmseg.IoUMetric'),
        default_hooks=dict(visualization=dict(
            type='MultiTaskVisualizationHook'))))
    args = tool.parse_args([
        'cfg.py', str(ckpt), option, str(root / 'test' / 'semseg')])
    with pytest.raises(OutputOverwritesInputError,
                       match=f'{option} .* inside the dataset root'):
        tool.merge_args(cfg, args)


def test_demo_refuses_to_overwrite_its_input(tmp_path, load_tool):
    demo = load_tool('demo/image_demo.py', 'image_demo_tool')
    img = tmp_path / 'room.png'
    cv2.imwrite(str(img), np.full((8, 8, 3), 9, np.uint8))
    depth = tmp_path / 'room_depth.png'
    cv2.imwrite(str(depth), np.full((8, 8), 900, np.uint16))
    before = img.read_bytes(), depth.read_bytes()
    # Refused before the (here missing) config and checkpoint are read.
    cfg, ckpt = str(tmp_path / 'cfg.py'), str(tmp_path / 'x.pth')
    with pytest.raises(SystemExit,
                       match=f'output file .*room.png is the input image'):
        demo.main([str(img), cfg, ckpt, '--out-dir', str(tmp_path)])
    # The picture's name is free elsewhere, but the depth map's name is the
    # --depth input.
    elsewhere = tmp_path / 'other'
    os.makedirs(elsewhere)
    moved = elsewhere / 'room.png'
    moved.write_bytes(before[0])
    with pytest.raises(SystemExit, match='is the input depth'):
        demo.main([str(moved), cfg, ckpt, '--out-dir', str(tmp_path),
                   '--depth', str(depth)])
    assert (img.read_bytes(), depth.read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ['other', 'room.png',
                                            'room_depth.png']
