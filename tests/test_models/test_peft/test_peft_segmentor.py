"""PEFT methods inside the multi-task segmentor: one pass, per-task maps
for MTLoRA, losses backpropagate to the method only, and the parameter
report counts it."""
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.engine.hooks.trainable_params_hook import count_parameters
from mmmae.registry import MODELS

K = 3


def _cfg(peft):
    return dict(
        type='MultiTaskSegmentor',
        backbone=dict(type='MultiViT', arch='tiny', patch_size=8,
                      img_size=32, out_indices=(0, 1), frozen=True,
                      peft=peft),
        decode_heads=dict(
            depth=dict(type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1),
                       channels=8, post_process_channels=(8, 8, 8, 8),
                       head_channels=(8, 4)),
            semseg=dict(type='ConvNeXtHead', in_channels=32, channels=8,
                        num_blocks=1, num_classes=K)))


def _batch(batch=2, size=(32, 32)):
    g = torch.Generator().manual_seed(0)
    inputs = dict(rgb=torch.randn(batch, 3, *size, generator=g),
                  depth=torch.randn(batch, 1, *size, generator=g))
    samples = []
    for _ in range(batch):
        s = SegDataSample(metainfo=dict(img_shape=size, pad_shape=size,
                                        ori_shape=size))
        s.gt_sem_seg = PixelData(data=torch.randint(0, K, (1, *size),
                                                    generator=g))
        s.gt_depth_map = PixelData(data=torch.rand(1, *size, generator=g)
                                   + 0.5)
        samples.append(s)
    return inputs, samples


METHODS = [dict(type='LoRA', rank=2),
           dict(type='MTLoRA', tasks=('depth', 'semseg'), rank=2,
                task_rank=1),
           dict(type='BitFit'), dict(type='LNTuning')]


@pytest.mark.parametrize('peft', METHODS, ids=lambda p: p['type'])
def test_loss_trains_the_method_and_heads_only(peft):
    torch.manual_seed(0)
    model = MODELS.build(_cfg(peft))
    model.train()
    assert not model.backbone.blocks.training
    losses = model.loss(*_batch())
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for name, p in model.backbone.named_parameters():
        if not p.requires_grad:
            assert p.grad is None, name
    trained = [n for n, p in model.backbone.named_parameters()
               if p.grad is not None and p.grad.abs().sum() > 0]
    assert trained
    counts = count_parameters(model)
    assert counts['trainable_by_module']['backbone'] == sum(
        p.numel() for p in model.backbone.parameters() if p.requires_grad)
    assert counts['trainable'] < counts['total']


def test_mtlora_heads_read_their_own_task_maps_in_one_pass():
    torch.manual_seed(0)
    model = MODELS.build(_cfg(METHODS[1])).eval()
    with torch.no_grad():
        for b in model.backbone.peft.task_lora['depth'].values():
            b.lora_B.normal_(0, 0.1)
    calls = []
    model.backbone.blocks[0].register_forward_hook(
        lambda *a: calls.append(1))
    inputs, _ = _batch()
    with torch.no_grad():
        maps, _ = model.extract_task_feats(inputs, ('depth', 'semseg'))
        assert len(calls) == 1  # one backbone pass for both heads
        feats = model.backbone.forward_features(inputs, ('depth', 'semseg'))
        shared = model.backbone.tokens_to_maps(feats['tokens'],
                                               feats['layout'])
    # TA and semseg's TS are still zero: the semseg head reads the shared
    # features; the depth head reads features moved by its own TS-LoRA.
    readout = model.readouts['semseg']
    for i in range(2):
        assert not torch.allclose(maps['depth'][i], maps['semseg'][i])
    want = model.backbone.tokens_to_maps(feats['tokens'], feats['layout'],
                                         None, readout)
    for got, ref in zip(maps['semseg'], want):
        torch.testing.assert_close(got, ref)
    assert shared[0].shape[1] == 32
