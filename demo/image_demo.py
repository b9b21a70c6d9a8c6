"""Predict depth and/or labels for one image and save pictures.

Example:
    python demo/image_demo.py data/nyuv2_synth/test/rgb/000000.png \
        configs/multimae/multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py \
        work_dirs/multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64/iter_300.pth \
        --out-dir outputs/

Writes, for an input named ``<stem>.png``:
    <stem>.png             titled panels: input rgb, then per task the
                           prediction (depth with a colour bar in metres,
                           labels with a legend of the classes present)
    <stem>_depth.png       predicted depth, uint16 millimetres (NYUv2 layout)
    <stem>_depth_vis.png   its viewable twin: colour map and bar in metres
    <stem>_semseg.png      predicted labels, uint8, class k stored as k + 1
                           (0 stays free for "unlabelled", as in NYUv2)
    <stem>_semseg_vis.png  its viewable twin: palette colours and legend

Each file is written atomically (temporary name, fsync, rename). The demo
refuses to start when one of these names is an input file (e.g. ``--out-dir``
is the folder of the input image), so an input is never overwritten.
"""
import argparse
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmmae.apis import inference_model, init_model  # noqa: E402
from mmmae.apis.inferencers.drawing import task_panel  # noqa: E402
from mmmae.engine.hooks.visualization_hook import read_display_image  # noqa: E402,E501
from mmmae.utils.atomic_io import atomic_imwrite  # noqa: E402
from mmmae.utils.output_guard import (OutputOverwritesInputError,  # noqa: E402,E501
                                      check_outputs_spare_inputs)
from mmmae.visualization import MultiTaskLocalVisualizer  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='mmmae depth / segmentation demo on one image')
    parser.add_argument('img', help='rgb image file (also the picture '
                        'background for depth-only models)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--depth', default=None,
                        help='depth input, uint16 PNG in millimetres (for '
                        'models that read depth)')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--with-labels', action='store_true',
                        help='write class names on the label overlay')
    return parser.parse_args(argv)


def output_paths(args) -> dict:
    """What -> file of every picture the demo may write."""
    stem = osp.splitext(osp.basename(args.img))[0]
    return dict(
        picture=osp.join(args.out_dir, f'{stem}.png'),
        depth=osp.join(args.out_dir, f'{stem}_depth.png'),
        depth_vis=osp.join(args.out_dir, f'{stem}_depth_vis.png'),
        semseg=osp.join(args.out_dir, f'{stem}_semseg.png'),
        semseg_vis=osp.join(args.out_dir, f'{stem}_semseg_vis.png'))


def main(argv=None):
    args = parse_args(argv)
    outputs = output_paths(args)
    try:  # before any work: never replace an input with a picture of it
        check_outputs_spare_inputs(
            outputs.values(),
            dict(image=args.img, depth=args.depth, config=args.config,
                 checkpoint=args.checkpoint))
    except OutputOverwritesInputError as e:
        raise SystemExit(f'image_demo.py: {e}')
    model = init_model(args.config, args.checkpoint, device=args.device)
    inputs = dict(rgb=args.img)
    if args.depth is not None:
        inputs['depth'] = args.depth
    needed = getattr(model, 'input_modalities', None) or ('rgb', )
    missing = [m for m in needed if m not in inputs]
    if missing:
        raise SystemExit(f'the model reads {list(needed)}; pass '
                         + ' '.join(f'--{m} FILE' for m in missing))
    result = inference_model(model, {m: inputs[m] for m in needed})

    stem = osp.splitext(osp.basename(args.img))[0]
    visualizer = MultiTaskLocalVisualizer(name='demo', save_dir=None)
    visualizer.dataset_meta = model.dataset_meta
    visualizer.add_datasample(stem, read_display_image(args.img), result,
                              draw_gt=False, out_file=outputs['picture'],
                              with_labels=args.with_labels,
                              input_title='input rgb')
    written = [outputs['picture']]
    if 'pred_depth_map' in result:
        depth = result.pred_depth_map.data[0].cpu().numpy()
        mm = np.clip(depth * 1000 + 0.5, 0, 65535).astype(np.uint16)
        atomic_imwrite(outputs['depth'], mm)
        twin = task_panel('depth', depth, 'depth prediction [m]')
        atomic_imwrite(outputs['depth_vis'], twin[..., ::-1])
        written += [outputs['depth'], outputs['depth_vis']]
    if 'pred_sem_seg' in result:
        labels = result.pred_sem_seg.data[0].cpu().numpy().astype(np.int64)
        atomic_imwrite(outputs['semseg'],
                       np.clip(labels + 1, 0, 255).astype(np.uint8))
        # The twin shows class ids as the model counts them (the file
        # stores k + 1), named from the model's dataset meta.
        classes, palette = visualizer._classes_palette('semseg')
        twin = task_panel('segmentation', labels, 'semseg prediction',
                          palette, classes)
        atomic_imwrite(outputs['semseg_vis'], twin[..., ::-1])
        written += [outputs['semseg'], outputs['semseg_vis']]
    print('wrote ' + ', '.join(written))


if __name__ == '__main__':
    main()
