import os.path as osp

import mmcv
import pytest
import torch
from mmengine.config import Config

from mmmae.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(ROOT, 'configs/multimae/'
                'multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py')


@pytest.fixture(scope='module')
def tool(load_tool):
    return load_tool(
        'tools/analysis_tools/visualize_reconstruction.py', 'visualize_recon')


def test_one_picture_per_sample_from_a_checkpoint(tmp_path, tool):
    from mmmae.datasets import generate_synthetic_nyuv2
    data = tmp_path / 'synth'
    generate_synthetic_nyuv2(str(data), num_train=2, num_test=3)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY).model)
    ckpt = tmp_path / 'tiny.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = tmp_path / 'recon'
    written = tool.main([
        TINY, str(ckpt), '--out-dir', str(out), '--num', '2',
        '--cfg-options', f'val_dataloader.dataset.data_root={data}/test'])
    assert [osp.basename(p) for p in written] == ['000000.png', '000001.png']
    image = mmcv.imread(written[0])
    # Rows rgb, norm_rgb, depth, semseg; columns masked input, prediction,
    # target; 64 x 64 maps enlarged 3x under titles (annotate.MIN_SIDE).
    assert image.shape[0] > 4 * (20 + 192) and image.shape[1] > 3 * 192
    # Seeded masking: the same checkpoint draws the same picture again.
    again = tool.main([
        TINY, str(ckpt), '--out-dir', str(tmp_path / 'again'), '--num', '1',
        '--cfg-options', f'val_dataloader.dataset.data_root={data}/test'])
    assert (mmcv.imread(again[0]) == image).all()
