import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.models.layers import TokenLayout
from mmmae.models.prompts import MultiTaskPrompt, PromptContext
from mmmae.registry import MODELS

K = 4


def _segmentor(one_pass=True, **prompt):
    p = dict(type='MultiTaskPrompt', tasks=('depth', 'semseg'),
             shared_length=2, task_length=3, dropout=0.)
    p.update(prompt)
    return MODELS.build(dict(
        type='MultiTaskSegmentor', one_pass=one_pass,
        backbone=dict(type='MultiViT', arch='tiny', out_indices=(0, 1),
                      frozen=True, prompt=p),
        decode_heads=dict(
            depth=dict(type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1),
                       channels=8, post_process_channels=(8, 8, 8, 8),
                       head_channels=(8, 4)),
            semseg=dict(type='ConvNeXtHead', in_channels=32, channels=8,
                        num_blocks=1, num_classes=K))))


def _batch(batch=2, size=(32, 32)):
    samples = []
    for _ in range(batch):
        s = SegDataSample(metainfo=dict(img_shape=size, pad_shape=size,
                                        ori_shape=size))
        s.gt_sem_seg = PixelData(data=torch.randint(0, K, (1, *size)))
        s.gt_depth_map = PixelData(data=torch.rand(1, *size) + 0.5)
        samples.append(s)
    return dict(rgb=torch.randn(batch, 3, *size)), samples


def _spy(model):
    calls = []
    original = model.backbone.forward_features

    def spy(inputs, tasks=None):
        out = original(inputs, tasks)
        calls.append((tasks, out['layout']))
        return out

    model.backbone.forward_features = spy
    return calls


def test_one_pass_serves_every_head():
    model = _segmentor()
    calls = _spy(model)
    inputs, samples = _batch()
    model.eval()
    with torch.no_grad():
        out = model(inputs, samples, mode='predict')
    assert len(calls) == 1
    layout = calls[0][1]
    # All task prompts in one sequence, after the shared ones.
    assert layout.prompts == {'shared': slice(0, 2),
                              'task.depth': slice(2, 5),
                              'task.semseg': slice(5, 8)}
    for s in out:
        assert s.pred_depth_map.data.shape == (1, 32, 32)
        assert s.seg_logits.data.shape == (K, 32, 32)
        assert s.pred_sem_seg.data.shape == (1, 32, 32)


def test_per_task_passes_carry_only_their_task():
    model = _segmentor(one_pass=False)
    calls = _spy(model)
    inputs, samples = _batch()
    losses = model(inputs, samples, mode='loss')
    assert [c[0] for c in calls] == ['depth', 'semseg']
    assert calls[0][1].prompts == {'shared': slice(0, 2),
                                   'task.depth': slice(2, 5)}
    assert calls[1][1].prompts == {'shared': slice(0, 2),
                                   'task.semseg': slice(2, 5)}
    assert any(k.startswith('decode_depth') for k in losses)


def test_readout_starts_as_identity_and_makes_task_prompts_matter():
    model = _segmentor()
    bb = model.backbone
    inputs, _ = _batch()
    feats = bb.forward_features(inputs, tasks=('depth', 'semseg'))
    depth = bb.tokens_to_maps(feats['tokens'], feats['layout'], 'depth')
    semseg = bb.tokens_to_maps(feats['tokens'], feats['layout'], 'semseg')
    plain = bb.tokens_to_maps(feats['tokens'], feats['layout'], None)
    # Zero-initialised scale: step 0 equals the bare patch tokens.
    for a, b in zip(depth, plain):
        torch.testing.assert_close(a, b)
    # A head's loss sends gradient to the scale of its own task.
    inputs, samples = _batch()
    loss = sum(v for k, v in model(inputs, samples, mode='loss').items()
               if k.startswith('decode_depth') and 'loss' in k)
    loss.backward()
    scale = bb.prompt.readout_scale
    assert scale['depth'].grad.abs().sum() > 0
    assert scale['semseg'].grad is None or scale['semseg'].grad.abs().sum() == 0
    # Once trained, each head reads a different view of the same pass.
    with torch.no_grad():
        for p in scale.values():
            p.fill_(1.)
    feats = bb.forward_features(inputs, tasks=('depth', 'semseg'))
    depth = bb.tokens_to_maps(feats['tokens'], feats['layout'], 'depth')
    semseg = bb.tokens_to_maps(feats['tokens'], feats['layout'], 'semseg')
    assert not torch.allclose(depth[-1], semseg[-1])
    # ... and the depth view depends on the depth prompts.
    depth[-1].sum().backward()
    assert bb.prompt.task_prompts['depth'].grad.abs().sum() > 0


def test_shallow_mode_inserts_once():
    model = _segmentor(deep=False, shared_length=0)
    bb = model.backbone
    seen = []
    for block in bb.blocks:
        block.register_forward_pre_hook(
            lambda m, a: seen.append(a[0].detach().clone()))
    feats = bb.forward_features(_batch()[0])
    assert feats['layout'].prompts == {'task.depth': slice(0, 3),
                                       'task.semseg': slice(3, 6)}
    torch.testing.assert_close(seen[1][:, :6], feats['tokens'][0][:, :6])
    assert bb.prompt.task_prompts['depth'].shape == (1, 3, 32)


def test_unknown_task_names_it_and_the_known_ones():
    prompt = MultiTaskPrompt(tasks=('depth', 'semseg'), embed_dims=8,
                             num_layers=2)
    layout = TokenLayout.build({'rgb': (2, 2)})
    ctx = PromptContext(1, ('rgb', ), tasks=('normals', ))
    with pytest.raises(KeyError, match=r"\['normals'\].*'depth', 'semseg'"):
        prompt.before_block(0, torch.randn(1, 5, 8), layout, ctx)
    with pytest.raises(KeyError, match='normals'):
        prompt.readout('normals', torch.randn(1, 4, 8), torch.randn(1, 5, 8),
                       layout)
    # A head reading a task its pass did not carry.
    x, lay = prompt.before_block(0, torch.randn(1, 5, 8), layout,
                                 PromptContext(1, ('rgb', ), ('depth', )))
    with pytest.raises(KeyError, match='semseg.*served tasks'):
        prompt.readout('semseg', x[:, lay.patch_slice], x, lay)
    # A segmentor head with no task prompt fails when the model is built.
    with pytest.raises(KeyError, match=r"decode_heads \['semseg'\] have no "
                       'prompts'):
        MODELS.build(dict(
            type='MultiTaskSegmentor',
            backbone=dict(type='MultiViT', arch='tiny', frozen=True,
                          prompt=dict(type='MultiTaskPrompt',
                                      tasks=('depth', ))),
            decode_heads=dict(semseg=dict(type='ConvNeXtHead',
                                          in_channels=32, channels=8,
                                          num_blocks=1, num_classes=K))))


def test_bad_lengths():
    with pytest.raises(ValueError, match='max_length'):
        MultiTaskPrompt(tasks=('a', 'b'), shared_length=100, task_length=300,
                        embed_dims=8, num_layers=2)
    with pytest.raises(ValueError, match='task_length=0'):
        MultiTaskPrompt(tasks=('a', ), task_length=0, embed_dims=8,
                        num_layers=2)
    with pytest.raises(ValueError, match='distinct'):
        MultiTaskPrompt(tasks=('a', 'a'), embed_dims=8, num_layers=2)
