import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.models.layers import TokenLayout
from mmmae.models.prompts import PromptContext, TaskPromptPool
from mmmae.registry import MODELS

D = 32
K = 4
TASKS = ('depth', 'semseg')


def _pools(**kwargs):
    cfg = dict(tasks=TASKS, pool_size=6, length=2, top_k=2, embed_dims=D,
               num_layers=2, batchwise=False)
    cfg.update(kwargs)
    return TaskPromptPool(**cfg)


def _segmentor(one_pass=True, **prompt):
    p = dict(type='TaskPromptPool', tasks=TASKS, pool_size=6, length=2,
             top_k=2, dropout=0.)
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


def _ctx(query, tasks=None):
    return PromptContext(query.shape[0], ('rgb', ), tasks,
                         query_fn=lambda: query)


def test_each_task_selects_from_its_own_pool():
    pools = _pools()
    with torch.no_grad():
        # depth's keys prefer channels 0-1, semseg's channels 4-5.
        pools.pools['depth'].key.copy_(torch.eye(6, D))
        pools.pools['semseg'].key.copy_(torch.eye(6, D).flip(0))
    query = torch.zeros(3, D)
    query[:, 0], query[:, 1] = 1., .9
    x = torch.randn(3, 9, D)
    ctx = _ctx(query)
    out, lay = pools.before_block(0, x, TokenLayout.build({'rgb': (2, 4)}),
                                  ctx)
    assert ctx.cache['task.depth'].tolist() == [[0, 1]] * 3
    # The flipped keys put channel 0 on key 5, channel 1 on key 4.
    assert ctx.cache['task.semseg'].tolist() == [[5, 4]] * 3
    assert lay.prompts == {'task.depth': slice(0, 4),
                           'task.semseg': slice(4, 8)}
    depth_pool, seg_pool = pools.pools['depth'], pools.pools['semseg']
    torch.testing.assert_close(
        out[0, :4], depth_pool.prompt[0, [0, 1]].flatten(0, 1))
    torch.testing.assert_close(
        out[0, 4:8], seg_pool.prompt[0, [5, 4]].flatten(0, 1))
    torch.testing.assert_close(out[:, 8:], x)


def test_pull_loss_per_pool_reaches_only_its_selected_keys():
    pools = _pools(pull_weight=0.5)
    query = torch.randn(4, D)
    ctx = _ctx(query)
    pools.before_block(0, torch.randn(4, 9, D),
                       TokenLayout.build({'rgb': (2, 4)}), ctx)
    assert set(ctx.losses) == {'loss_prompt_pull_depth',
                               'loss_prompt_pull_semseg'}
    for task in TASKS:
        pool, idx = pools.pools[task], ctx.cache[f'task.{task}']
        cos = F.cosine_similarity(query[:, None], pool.key[None], dim=-1)
        torch.testing.assert_close(ctx.losses[f'loss_prompt_pull_{task}'],
                                   -0.5 * cos.gather(1, idx).sum() / 4)
    ctx.losses['loss_prompt_pull_depth'].backward()
    assert pools.pools['semseg'].key.grad is None
    has_grad = pools.pools['depth'].key.grad.abs().sum(1) > 0
    assert set(has_grad.nonzero().flatten().tolist()) == \
        set(ctx.cache['task.depth'].flatten().tolist())


def test_selection_is_the_pool_selection():
    """The selection is PromptPool.select's, batch-wise vote included."""
    pools = _pools(batchwise=True)
    query = torch.randn(5, D)
    ctx = _ctx(query)
    pools.before_block(0, torch.randn(5, 9, D),
                       TokenLayout.build({'rgb': (2, 4)}), ctx)
    for task in TASKS:
        idx, _ = pools.pools[task].select(query)
        assert torch.equal(ctx.cache[f'task.{task}'], idx)
        assert (idx == idx[:1]).all()  # one selection for the batch


def test_one_pass_for_all_tasks_and_each_head_reads_its_pool():
    model = _segmentor()
    calls = []
    original = model.backbone.forward_features

    def spy(inputs, tasks=None):
        out = original(inputs, tasks)
        calls.append((tasks, out['layout']))
        return out

    model.backbone.forward_features = spy
    inputs, samples = _batch()
    losses = model(inputs, samples, mode='loss')
    assert len(calls) == 1
    assert set(calls[0][0]) == set(TASKS)
    assert set(calls[0][1].prompts) == {'task.depth', 'task.semseg'}
    assert 'loss_prompt_pull_depth' in losses
    assert 'loss_prompt_pull_semseg' in losses


def test_per_task_passes_insert_only_that_task():
    model = _segmentor(one_pass=False)
    inputs, samples = _batch()
    losses = model(inputs, samples, mode='loss')
    assert 'depth.loss_prompt_pull_depth' in losses
    assert 'semseg.loss_prompt_pull_semseg' in losses
    assert 'depth.loss_prompt_pull_semseg' not in losses


def test_readout_is_zero_at_init_and_task_specific_after():
    pools = _pools()
    query = torch.randn(2, D)
    ctx = _ctx(query)
    layout = TokenLayout.build({'rgb': (2, 4)})
    x, lay = pools.before_block(0, torch.randn(2, 9, D), layout, ctx)
    patch = x[:, lay.patch_slice]
    torch.testing.assert_close(pools.readout('depth', patch, x, lay), patch)
    with torch.no_grad():
        pools.readout_scale['depth'].fill_(1.)
    changed = pools.readout('depth', patch, x, lay)
    assert not torch.allclose(changed, patch)
    torch.testing.assert_close(pools.readout('semseg', patch, x, lay), patch)


def test_gradients_reach_only_selected_prompts_and_keys():
    torch.manual_seed(0)
    model = _segmentor(pull_weight=0.1)
    prompt = model.backbone.prompt
    with torch.no_grad():
        for p in prompt.readout_scale.values():
            p.fill_(0.5)  # let the task losses reach the prompts too
    picked = {}
    for task, pool in prompt.pools.items():
        def select(query, _pool=pool, _task=task,
                   _select=type(pool).select):
            idx, sim = _select(_pool, query)
            picked[_task] = set(idx.flatten().tolist())
            return idx, sim
        pool.select = select
    inputs, samples = _batch()
    model.train()
    loss, _ = model.parse_losses(model(inputs, samples, mode='loss'))
    loss.backward()
    for task in TASKS:
        pool = prompt.pools[task]
        assert 0 < len(picked[task]) < pool.pool_size
        prompt_grad = pool.prompt.grad.abs().flatten(2).sum(-1)[0] > 0
        key_grad = pool.key.grad.abs().sum(-1) > 0
        assert set(prompt_grad.nonzero().flatten().tolist()) == picked[task]
        assert set(key_grad.nonzero().flatten().tolist()) == picked[task]
    for name, p in model.backbone.named_parameters():
        if not name.startswith('prompt.'):
            assert not p.requires_grad, name
            assert p.grad is None, name


def test_bad_input():
    with pytest.raises(ValueError, match='distinct'):
        _pools(tasks=('depth', 'depth'))
    with pytest.raises(ValueError, match='max_length'):
        _pools(top_k=6, length=30, pool_size=6, max_length=100)
    pools = _pools()
    with pytest.raises(RuntimeError, match='query_fn'):
        pools.before_block(0, torch.randn(2, 9, D),
                           TokenLayout.build({'rgb': (2, 4)}),
                           PromptContext(2, ('rgb', )))
    with pytest.raises(KeyError, match='normals'):
        pools.before_block(0, torch.randn(2, 9, D),
                           TokenLayout.build({'rgb': (2, 4)}),
                           _ctx(torch.randn(2, D), tasks=('normals', )))
    x, lay = pools.before_block(0, torch.randn(2, 9, D),
                                TokenLayout.build({'rgb': (2, 4)}),
                                _ctx(torch.randn(2, D), tasks=('depth', )))
    with pytest.raises(KeyError, match='TaskPromptPool.*served'):
        pools.readout('semseg', x[:, lay.patch_slice], x, lay)
