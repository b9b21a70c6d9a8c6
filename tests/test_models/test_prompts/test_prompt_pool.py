import pytest
import torch
import torch.nn.functional as F

from mmmae.models.prompts import PromptContext, PromptPool
from mmmae.models.layers import TokenLayout
from mmmae.registry import MODELS

D = 32


def _pool(**kwargs):
    cfg = dict(pool_size=6, length=2, top_k=3, embed_dims=D, num_layers=2)
    cfg.update(kwargs)
    return PromptPool(**cfg)


def _backbone(**prompt):
    p = dict(type='PromptPool', pool_size=6, length=2, top_k=3, dropout=0.)
    p.update(prompt)
    return MODELS.build(dict(type='MultiViT', arch='tiny', img_size=32,
                             out_indices=(0, 1), frozen=True, prompt=p))


def _inputs(batch=4):
    return dict(rgb=torch.randn(batch, 3, 32, 32))


def test_selection_returns_n_distinct_prompts_by_cosine():
    pool = _pool(batchwise=False)
    query = torch.randn(5, D)
    idx, sim = pool.select(query)
    assert idx.shape == (5, 3)
    assert all(len(set(row.tolist())) == 3 for row in idx)
    expected = F.cosine_similarity(query[:, None], pool.key[None], dim=-1)
    torch.testing.assert_close(sim, expected)
    # The chosen keys are the 3 most similar ones.
    assert torch.equal(idx.sort(1).values,
                       expected.topk(3, dim=1).indices.sort(1).values)


def test_batchwise_selection_takes_the_majority():
    pool = _pool(batchwise=True, top_k=2)
    with torch.no_grad():
        pool.key.copy_(torch.eye(6, D))
    # Three samples prefer keys {0, 1}, one prefers {4, 5}.
    query = torch.zeros(4, D)
    query[:3, 0], query[:3, 1] = 1., .9
    query[3, 4], query[3, 5] = 1., .9
    idx, _ = pool.select(query)
    assert idx.tolist() == [[0, 1]] * 4


def test_pull_loss_reaches_only_the_selected_keys():
    pool = _pool(pull_weight=0.5, batchwise=False)
    x = torch.randn(4, 9, D)
    layout = TokenLayout.build({'rgb': (2, 4)})
    query = torch.randn(4, D)
    ctx = PromptContext(4, ('rgb', ), query_fn=lambda: query)
    out, lay = pool.before_block(0, x, layout, ctx)
    idx = ctx.cache['pool']
    loss = ctx.losses['loss_prompt_pull']
    cos = F.cosine_similarity(query[:, None], pool.key[None], dim=-1)
    torch.testing.assert_close(loss, -0.5 * cos.gather(1, idx).sum() / 4)
    loss.backward()
    has_grad = pool.key.grad.abs().sum(1) > 0
    assert set(has_grad.nonzero().flatten().tolist()) == \
        set(idx.flatten().tolist())
    assert lay.prompts == {'pool': slice(0, 6)}
    # The selected prompts, in order, are prepended.
    torch.testing.assert_close(out[1, :2], pool.prompt[0, idx[1, 0]])
    torch.testing.assert_close(out[:, 6:], x)


@pytest.mark.parametrize('batchwise', [False, True])
def test_pull_loss_is_the_references_reduce_sim(batchwise):
    """L2P's ``reduce_sim``: the normalised selected keys times the
    normalised query, summed over batch, keys and channels, divided by the
    batch size only; the loss is ``-lambda * reduce_sim``."""
    torch.manual_seed(0)
    B, lam = 4, 0.1
    pool = _pool(pull_weight=lam, top_k=3, batchwise=batchwise)
    query = torch.randn(B, D)
    ctx = PromptContext(B, ('rgb', ), query_fn=lambda: query)
    pool.before_block(0, torch.randn(B, 9, D),
                      TokenLayout.build({'rgb': (2, 4)}), ctx)
    idx = ctx.cache['pool']  # B N
    key_norm = pool.key / pool.key.norm(dim=-1, keepdim=True)
    q_norm = query / query.norm(dim=-1, keepdim=True)
    reduce_sim = (key_norm[idx] * q_norm[:, None]).sum() / B
    loss = ctx.losses['loss_prompt_pull']
    torch.testing.assert_close(loss, -lam * reduce_sim)
    # N = 3 times the mean cosine over batch x N.
    cos = F.cosine_similarity(query[:, None], pool.key[None], dim=-1)
    torch.testing.assert_close(loss, -lam * 3 * cos.gather(1, idx).mean())


def test_batchwise_selection_is_the_default():
    """Both official L2P configs set batchwise_prompt=True."""
    assert _pool().batchwise
    assert MODELS.build(dict(type='PromptPool', embed_dims=D,
                             num_layers=2)).batchwise
    torch.manual_seed(0)
    idx, _ = _pool().select(torch.randn(8, D))
    assert (idx == idx[:1]).all()


def test_ties_keep_top_k_order():
    """Equal similarities and equal vote counts go to the lower index, in
    that order (``jax.lax.top_k``); ``torch.topk`` alone would not."""
    pool = _pool(pool_size=20, top_k=5, batchwise=False)
    with torch.no_grad():
        pool.key.fill_(1.)  # every key equally similar to any query
    idx, _ = pool.select(torch.randn(3, D))
    assert idx.tolist() == [[0, 1, 2, 3, 4]] * 3

    pool = _pool(pool_size=4, top_k=1, batchwise=True)
    with torch.no_grad():
        pool.key.copy_(torch.eye(4, D))
    # One vote each for keys 1 and 3; key 3 has the higher mean similarity
    # over the batch, but the count tie goes to the lower id.
    query = torch.zeros(2, D)
    query[0, 1] = 1.
    query[1, 3], query[1, 1] = 1., -0.5
    idx, sim = pool.select(query)
    assert sim.mean(0)[3] > sim.mean(0)[1]
    assert idx.tolist() == [[1], [1]]

    # Majority prompts come in order of votes, then of id.
    pool = _pool(pool_size=6, top_k=2, batchwise=True)
    with torch.no_grad():
        pool.key.copy_(torch.eye(6, D))
    query = torch.zeros(3, D)
    query[:, 5] = 1.  # key 5 first for everyone: 3 votes
    query[0, 2], query[1, 4], query[2, 4] = .5, .5, .5  # key 4: 2 votes
    idx, _ = pool.select(query)
    assert idx.tolist() == [[5, 4]] * 3


def test_shallow_pool_in_the_backbone_and_query_is_frozen_feature():
    model = _backbone()
    feats = model.forward_features(_inputs())
    assert [t.shape[1] for t in feats['tokens']] == [3 * 2 + 4 + 1] * 2
    assert 'loss_prompt_pull' in feats['aux_losses']
    # The query is the prompt-free frozen model's global token.
    x, layout = model.tokenize(_inputs())
    ctx = model._make_context(_inputs(), layout, 4, None)
    q = ctx.query_fn()
    assert q.shape == (4, 32) and not q.requires_grad


def test_deep_pool_replaces_per_block_with_one_selection():
    model = _backbone(deep=True)
    inputs = _inputs()
    x, layout = model.tokenize(inputs)
    idx, _ = model.prompt.select(
        model._make_context(inputs, layout, 4, None).query_fn())
    seen = []
    for block in model.blocks:
        block.register_forward_pre_hook(
            lambda m, a: seen.append(a[0].detach().clone()))
    model.forward_features(inputs)
    # First the prompt-free query pass, then the prompted one.
    assert [x.shape[1] for x in seen] == [5, 5, 11, 11]
    for i, x in enumerate(seen[2:]):
        expected = model.prompt.prompt[i][idx].flatten(1, 2)
        torch.testing.assert_close(x[:, :6], expected)


def test_pull_loss_reaches_the_segmentor_loss_dict():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    model = MODELS.build(dict(
        type='MultiTaskSegmentor',
        backbone=dict(type='MultiViT', arch='tiny', out_indices=(1, ),
                      frozen=True,
                      prompt=dict(type='PromptPool', pool_size=4, length=2,
                                  top_k=2, pull_weight=0.3)),
        decode_heads=dict(semseg=dict(type='ConvNeXtHead', in_channels=32,
                                      channels=8, num_blocks=1,
                                      num_classes=3))))
    samples = [SegDataSample(metainfo=dict(img_shape=(32, 32),
                                           pad_shape=(32, 32)))
               for _ in range(2)]
    for s in samples:
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 32, 32)))
    losses = model(_inputs(2), samples, mode='loss')
    assert losses['loss_prompt_pull'] < 0
    assert losses['loss_prompt_pull'].requires_grad


def test_bad_pool_configs():
    with pytest.raises(ValueError, match='top_k=7'):
        _pool(top_k=7)
    with pytest.raises(ValueError, match=r'top_k=3 x length=200.*max_length'):
        _pool(length=200)
    pool = _pool()
    layout = TokenLayout.build({'rgb': (2, 4)})
    with pytest.raises(RuntimeError, match='query_fn'):
        pool.before_block(0, torch.randn(2, 9, D), layout,
                          PromptContext(2, ('rgb', )))


def test_l2p_configs_select_batchwise():
    from pathlib import Path

    from mmengine.config import Config
    root = Path(__file__).parents[3]
    paths = sorted((root / 'configs' / 'prompt').glob('l2p-*.py'))
    assert len(paths) >= 3
    for path in paths:
        prompt = Config.fromfile(path).model.backbone.prompt
        assert prompt.type == 'PromptPool'
        assert prompt.get('batchwise', True), path.name
