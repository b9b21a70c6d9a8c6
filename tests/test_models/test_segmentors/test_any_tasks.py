"""MultiTaskSegmentor with any set of named tasks, two of one kind."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.registry import MODELS

SIZE = (32, 32)
TASKS = ('semseg', 'parts', 'depth', 'normals', 'edge', 'sal')


def _heads(tasks=TASKS):
    conv = dict(type='ConvNeXtHead', in_channels=32, channels=8,
                num_blocks=1)
    dpt = dict(type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1),
               channels=16, post_process_channels=(8, 8, 16, 16),
               head_channels=(8, 4))
    heads = dict(
        semseg=dict(conv, num_classes=5),
        parts=dict(conv, num_classes=7, kind='parts'),
        depth=dict(dpt, depth_act='softplus'),
        normals=dict(dpt, kind='normals'),
        edge=dict(conv, kind='boundary'),
        sal=dict(conv, kind='saliency'))
    return {t: heads[t] for t in tasks}


def _cfg(tasks=TASKS, **kwargs):
    cfg = dict(type='MultiTaskSegmentor',
               backbone=dict(type='MultiViT', arch='tiny',
                             out_indices=(0, 1)),
               decode_heads=_heads(tasks))
    cfg.update(kwargs)
    return cfg


def _batch(batch=2, **meta):
    inputs = dict(rgb=torch.randn(batch, 3, *SIZE))
    samples = []
    for _ in range(batch):
        s = SegDataSample(metainfo=dict(img_shape=SIZE, pad_shape=SIZE,
                                        ori_shape=SIZE, **meta))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 5, (1, *SIZE)))
        s.gt_parts = PixelData(data=torch.randint(0, 7, (1, *SIZE)))
        s.gt_depth_map = PixelData(data=torch.rand(1, *SIZE) * 4 + 0.5)
        s.gt_normals = PixelData(
            data=F.normalize(torch.randn(3, *SIZE), dim=0))
        s.gt_edge = PixelData(data=(torch.rand(1, *SIZE) > 0.8).long())
        s.gt_sal = PixelData(data=(torch.rand(1, *SIZE) > 0.5).long())
        samples.append(s)
    return inputs, samples


def test_six_tasks_one_backbone_pass_every_loss_and_field():
    model = MODELS.build(_cfg())
    calls = []
    original = model.backbone.forward_features

    def counted(inputs, tasks=None):
        calls.append(tasks)
        return original(inputs, tasks)

    model.backbone.forward_features = counted
    losses = model.loss(*_batch())
    assert calls == [TASKS]
    assert {'decode_semseg.loss_ce', 'decode_parts.loss_ce',
            'decode_depth.loss_berhu', 'decode_normals.loss_normals',
            'decode_edge.loss_edge', 'decode_sal.loss_sal'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for task in TASKS:
        grads = [p.grad for p in model.decode_heads[task].parameters()]
        assert any(g is not None and g.abs().sum() > 0 for g in grads), task

    model.eval()
    with torch.no_grad():
        out = model.predict(*_batch())[0]
    assert out.pred_sem_seg.data.max() < 5 and out.seg_logits.data.shape[0] == 5
    assert out.pred_parts.data.max() < 7 and out.parts_logits.data.shape[0] == 7
    assert out.pred_depth_map.shape == SIZE
    torch.testing.assert_close(out.pred_normals.data.norm(dim=0),
                               torch.ones(SIZE))
    for field in ('pred_edge', 'pred_sal'):
        p = out.get(field).data
        assert p.shape == (1, *SIZE) and 0 <= p.min() and p.max() <= 1


def test_kinds_and_fields_are_recorded():
    model = MODELS.build(_cfg())
    assert model.task_kinds == dict(
        semseg='segmentation', parts='parts', depth='depth',
        normals='normals', edge='boundary', sal='saliency')
    assert model.gt_fields['edge'] == 'gt_edge'
    assert model.pred_fields['sal'] == 'pred_sal'


def test_two_tasks_of_one_kind_need_their_own_fields():
    heads = _heads(('semseg', ))
    heads['semseg2'] = dict(heads['semseg'], num_classes=3)
    with pytest.raises(ValueError, match='semseg2 and decode_heads.semseg '
                       'both write pred_sem_seg'):
        MODELS.build(_cfg(()) | dict(decode_heads=heads))
    heads['semseg2'].update(gt_field='gt_parts', pred_field='pred_seg2')
    model = MODELS.build(_cfg(()) | dict(decode_heads=heads))
    model.eval()
    with torch.no_grad():
        out = model.predict(*_batch())[0]
    assert out.pred_seg2.data.max() < 3 and out.seg2_logits.data.shape[0] == 3
    assert out.seg_logits.data.shape[0] == 5


def test_task_weights_scale_only_that_tasks_losses():
    torch.manual_seed(0)
    plain = MODELS.build(_cfg(('depth', 'normals')))
    weighted = MODELS.build(_cfg(('depth', 'normals'),
                                 task_weights=dict(normals=10.)))
    weighted.load_state_dict(plain.state_dict())
    plain.eval(), weighted.eval()  # no drop path
    batch = _batch()
    a, b = plain.loss(*batch), weighted.loss(*batch)
    torch.testing.assert_close(b['decode_normals.loss_normals'],
                               10 * a['decode_normals.loss_normals'])
    torch.testing.assert_close(b['decode_depth.loss_berhu'],
                               a['decode_depth.loss_berhu'])
    torch.testing.assert_close(b['decode_depth.rmse'], a['decode_depth.rmse'])
    with pytest.raises(KeyError, match=r"task_weights \[.*edge.*\] name no head"):
        MODELS.build(_cfg(('depth', ), task_weights=dict(edge=50.)))


def test_a_task_the_dataset_lacks_names_the_head_and_the_sample():
    model = MODELS.build(_cfg(('semseg', 'normals')))
    inputs, samples = _batch(img_path='data/rgb/0007.png',
                             tasks=('semseg', 'depth'))
    for s in samples:
        del s.gt_normals
    with pytest.raises(KeyError, match=r'model\.decode_heads\.normals.*'
                       r'gt_normals.*0007\.png.*provides tasks .*semseg.*depth'):
        model.loss(inputs, samples)


def test_normals_flip_negates_x_and_tta_stays_unit_and_equivariant():
    model = MODELS.build(_cfg(('normals', 'edge'))).eval()
    x = F.normalize(torch.randn(1, 3, 4, 4), dim=1)
    h = model._flip('normals', x, -1)
    torch.testing.assert_close(h[:, 0], -x.flip(-1)[:, 0])
    torch.testing.assert_close(h[:, 1:], x.flip(-1)[:, 1:])
    v = model._flip('normals', x, -2)
    torch.testing.assert_close(v[:, 1], -x.flip(-2)[:, 1])
    torch.testing.assert_close(model._flip('edge', x, -1), x.flip(-1))

    inputs = dict(rgb=torch.randn(1, 3, *SIZE))
    flipped = dict(rgb=inputs['rgb'].flip(-1))
    model.test_cfg.flip = True
    with torch.no_grad():
        tta, tta_f = model.inference(inputs), model.inference(flipped)
    torch.testing.assert_close(tta['normals'].norm(dim=1),
                               torch.ones(1, *SIZE))
    # Mirroring the input mirrors the averaged normals (x negated).
    torch.testing.assert_close(tta_f['normals'],
                               model._flip('normals', tta['normals']))
    torch.testing.assert_close(tta_f['edge'], tta['edge'].flip(-1))


def test_test_pipeline_flip_of_normals_is_undone_with_x_negated():
    model = MODELS.build(_cfg(('normals', ))).eval()
    inputs, samples = _batch(batch=1, flip=True, flip_direction='horizontal')
    _, plain_samples = _batch(batch=1)
    with torch.no_grad():
        flipped = model.predict(inputs, samples)[0].pred_normals.data
        plain = model.predict(inputs, plain_samples)[0].pred_normals.data
    torch.testing.assert_close(flipped[None],
                               model._flip('normals', plain[None]))


def test_multi_task_prompts_insert_every_tasks_tokens_in_one_pass():
    tasks = ('semseg', 'depth', 'normals', 'edge')
    prompt = dict(type='MultiTaskPrompt', tasks=tasks, shared_length=2,
                  task_length=3)
    model = MODELS.build(_cfg(tasks, backbone=dict(
        type='MultiViT', arch='tiny', out_indices=(0, 1), frozen=True,
        prompt=prompt)))
    inputs, _ = _batch()
    feats = model.backbone.forward_features(
        model._select_inputs(inputs), tasks=model.tasks)
    layout = feats['layout']
    assert set(layout.prompts) == {'shared'} | {f'task.{t}' for t in tasks}
    losses = model.loss(*_batch())
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for t in tasks:
        assert model.backbone.prompt.task_prompts[t].grad.abs().sum() > 0
        assert model.backbone.prompt.readout_scale[t].grad.abs().sum() > 0

    with pytest.raises(KeyError, match=r"decode_heads \['edge'\] have no "
                       r'prompts'):
        MODELS.build(_cfg(tasks, backbone=dict(
            type='MultiViT', arch='tiny', out_indices=(0, 1),
            prompt=dict(prompt, tasks=tasks[:3]))))


def test_config_head_the_dataset_lacks_fails_naming_key_file_tasks(tmp_path):
    """The 4-task config on a dataset loading 2 tasks: the first training
    step names the head's config key, the sample's file and the dataset's
    tasks (from the packed sample's metainfo)."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from mmmae.datasets import generate_synthetic_nyuv2
    from mmmae.registry import DATASETS

    init_default_scope('mmmae')
    root = str(tmp_path / 'synth')
    generate_synthetic_nyuv2(root, num_train=2, num_test=1)
    repo = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    cfg = Config.fromfile(osp.join(
        repo, 'configs', 'multimae', 'multimae_vit-tiny-p8-pt_seg-depth-'
        'normals-edge_1xb8-150i_nyuv2synth-64x64.py'))
    data = dict(cfg.train_dataloader.dataset, data_root=root,
                targets=('semseg', 'depth'))
    dataset = DATASETS.build(data)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    batch = model.data_preprocessor(
        pseudo_collate([dataset[0], dataset[1]]), True)
    with pytest.raises(KeyError, match=r'model\.decode_heads\.normals.*'
                       r'gt_normals.*rgb.*provides tasks .*semseg.*depth'):
        model.loss(batch['inputs'], batch['data_samples'])
