"""CLIP prompt learners: CoOp, VPT, MaPLe, MmAP and their multi-task forms."""
import json

import pytest
import torch
import torch.nn.functional as F

from mmmae.models.layers import TokenLayout
from mmmae.models.prompts.clip import CLIPPromptContext
from mmmae.registry import MODELS

TASKS = ('a', 'b', 'c')
DIMS = dict(embed_dims=48, num_layers=2, patch_size=8, text_dims=32,
            num_text_layers=2)


def build(cfg, tasks=TASKS, **dims):
    torch.manual_seed(0)
    full = dict(DIMS, **dims)
    return MODELS.build(dict(cfg, tasks=tasks, **full))


def visual_tokens(prompt, index, sample_tasks, n_patch=4):
    x = torch.zeros(len(sample_tasks), n_patch + 1, prompt.embed_dims)
    layout = TokenLayout.build({'rgb': (2, 2)}, num_global=1)
    ctx = CLIPPromptContext(len(sample_tasks), ('rgb', ),
                            sample_tasks=tuple(sample_tasks))
    return prompt.before_block(index, x, layout, ctx)


def build_classifier(prompt):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='MultiTaskCLIPClassifier', tasks=TASKS,
        class_names=('red', 'green'),
        vision_encoder=dict(type='CLIPVisionTransformer', arch='tiny'),
        text_encoder=dict(type='CLIPTextTransformer', arch='tiny'),
        prompt=prompt))


def test_mmap_source_gets_gradient_from_both_towers():
    model = build_classifier(dict(type='MmAPPrompt', length=2, depth=2))
    unit = model.prompt.units['shared_all']
    img = torch.randn(2, 3, 32, 32)
    tasks = ('a', 'a')

    def grads(loss):
        return torch.autograd.grad(
            loss, [unit.source, unit.text_factor, unit.visual_factor],
            allow_unused=True)

    # image path only: text features from the frozen template, no prompts
    img_feat = model.encode_image(img, tasks)
    g_src, g_txt, g_vis = grads(img_feat.pow(2).sum() + img_feat.sum())
    assert g_src.abs().sum() > 0 and g_vis.abs().sum() > 0
    assert g_txt is None
    # text path only
    txt_feat = model.encode_text('a')
    g_src2, g_txt2, g_vis2 = grads(txt_feat.sum())
    assert g_src2.abs().sum() > 0 and g_txt2.abs().sum() > 0
    assert g_vis2 is None
    # through the logits both reach the one source prompt
    g_both = grads((model.encode_image(img, tasks)
                    @ model.encode_text('a').t()).sum())[0]
    assert g_both.abs().sum() > 0


def test_mmap_prompts_are_kronecker_products():
    prompt = build(dict(type='MmAPPrompt', length=4, depth=12),
                   embed_dims=768, num_layers=12, text_dims=512,
                   num_text_layers=12, patch_size=16)
    unit = prompt.units['shared_all']
    assert unit.source.shape == (12, 4, 256)
    assert unit.text_factor.shape == (12, 1, 2)
    assert unit.visual_factor.shape == (12, 1, 3)
    with torch.no_grad():
        unit.text_factor.normal_()
        unit.visual_factor.normal_()
    t, v = unit.text(3), unit.visual(3)
    assert t.shape == (4, 512) and v.shape == (4, 768)
    # element (i, 2a + c) of the text prompt is S[i, a] * W_t[0, c]
    s, wt, wv = unit.source[3], unit.text_factor[3], unit.visual_factor[3]
    assert torch.allclose(t[1, 2 * 7 + 1], s[1, 7] * wt[0, 1])
    assert torch.allclose(v[2, 3 * 5 + 2], s[2, 5] * wv[0, 2])
    # 12 layers x (4 * 256 + 2 + 3) parameters per MmAP
    assert sum(p.numel() for p in unit.parameters()) == 12 * (1024 + 5)
    # at init both prompts copy the source: aligned from step 0
    fresh = build(dict(type='MmAPPrompt', length=2, depth=2))
    u = fresh.units['shared_all']
    assert torch.equal(u.text(0)[:, ::2], u.source[0])
    assert torch.equal(u.visual(0)[:, ::3], u.source[0])


def test_mmap_bad_source_shape():
    with pytest.raises(ValueError, match='does not divide the vision width'):
        build(dict(type='MmAPPrompt', length=2, depth=2, source_dims=32))


def test_group_shared_prompts_shared_exactly_within_a_group():
    groups = dict(g0=['a', 'b'], g1=['c'])
    prompt = build(dict(type='MmAPPrompt', length=2, depth=2, groups=groups,
                        task_specific=True))
    assert sorted(prompt.units) == ['shared_g0', 'shared_g1', 'task_a',
                                    'task_b', 'task_c']
    x, layout = visual_tokens(prompt, 1, ['a', 'b', 'c', 'a'])
    shared, task = layout.prompts['shared'], layout.prompts['task']
    assert torch.equal(x[0, shared], x[1, shared])        # a, b: one group
    assert not torch.allclose(x[0, shared], x[2, shared])  # c: another
    assert not torch.allclose(x[0, task], x[1, task])      # own units
    assert torch.equal(x[0], x[3])
    # text side: the same group unit for a and b
    txt = torch.zeros(2, 10, 32)
    ta, tb = (prompt.before_text_block(0, txt, t) for t in ('a', 'b'))
    assert torch.equal(ta[:, 1:3], tb[:, 1:3])
    assert not torch.allclose(ta[:, 3:5], tb[:, 3:5])
    # a loss on task a's shared prompt trains the unit task b uses too,
    # and leaves task b's own unit alone
    opt = torch.optim.SGD(prompt.parameters(), lr=1.)
    b_shared = prompt.units['shared_g0'].source.detach().clone()
    b_own = prompt.units['task_b'].source.detach().clone()
    prompt.before_text_block(0, txt, 'a').pow(2).sum().backward()
    opt.step()
    assert not torch.equal(prompt.units['shared_g0'].source, b_shared)
    assert torch.equal(prompt.units['task_b'].source, b_own)
    ta2, tb2 = (prompt.before_text_block(0, txt, t) for t in ('a', 'b'))
    assert torch.equal(ta2[:, 1:3], tb2[:, 1:3])


def test_grouping_file_with_unknown_tasks(tmp_path):
    path = tmp_path / 'groups.json'
    path.write_text(json.dumps(dict(groups=dict(g0=['a', 'zebra'],
                                                g1=['b', 'c']))))
    with pytest.raises(ValueError) as err:
        build(dict(type='MmAPPrompt', length=2, depth=2,
                   grouping_file=str(path)))
    assert "unknown tasks ['zebra']" in str(err.value)
    assert str(path) in str(err.value)
    # a task in no group, and a missing file, are errors too
    path.write_text(json.dumps(dict(groups=dict(g0=['a', 'b']))))
    with pytest.raises(ValueError, match=r"leaves tasks \['c'\]"):
        build(dict(type='CoOpPrompt', grouping_file=str(path)))
    with pytest.raises(FileNotFoundError, match='task_affinity.py'):
        build(dict(type='CoOpPrompt',
                   grouping_file=str(tmp_path / 'none.json')))


def test_coop_replaces_text_context_only():
    prompt = build(dict(type='CoOpPrompt', num_ctx=4))
    assert prompt.num_text_ctx == 4 and prompt.visual_length == 0
    x = torch.randn(3, 10, 32)
    y = prompt.before_text_block(0, x, 'a')
    assert torch.equal(y[:, 1:5], prompt.units['shared_all'].ctx.expand(
        3, -1, -1))
    assert torch.equal(y[:, 0], x[:, 0]) and torch.equal(y[:, 5:], x[:, 5:])
    assert torch.equal(prompt.before_text_block(1, x, 'a'), x)
    xv, layout = visual_tokens(prompt, 0, ['a', 'b'])
    assert layout.num_prompt == 0


def test_vpt_deep_replaces_prompts_per_layer():
    prompt = build(dict(type='CLIPVPTPrompt', length=3, dropout=0.)).eval()
    x0, lay0 = visual_tokens(prompt, 0, ['a', 'b'])
    assert lay0.num_prompt == 3 and x0.shape[1] == 3 + 5
    x1, lay1 = prompt.before_block(1, x0 + 1., lay0, CLIPPromptContext(
        2, ('rgb', ), sample_tasks=('a', 'b')))
    assert lay1.num_prompt == 3 and x1.shape[1] == 8
    assert torch.equal(x1[0, :3], prompt.units['shared_all'].prompts[1])
    bound = (6. / (3 * 8 * 8 + 48))**0.5
    assert prompt.units['shared_all'].prompts.abs().max() <= bound
    assert prompt.num_text_ctx == 0


def test_maple_visual_prompts_come_from_text_prompts():
    prompt = build(dict(type='MaPLePrompt', num_ctx=2, depth=2))
    unit = prompt.units['shared_all']
    lin = unit.couplings[1]
    assert (lin.in_features, lin.out_features) == (32, 48)
    assert torch.allclose(unit.visual(1), F.linear(unit.ctx[1], lin.weight,
                                                   lin.bias))
    with pytest.raises(ValueError, match='exceeds the 2 text layers'):
        build(dict(type='MaPLePrompt', num_ctx=2, depth=3))


def test_shared_parameters_for_affinity():
    prompt = build(dict(type='MmAPPrompt', length=2, depth=2,
                        task_specific=True))
    names = {id(p) for p in prompt.units['shared_all'].parameters()}
    assert {id(p) for p in prompt.shared_parameters()} == names


# ------------------------------------------- ctx_init and positions (8, 9)
WIDE_VISION = dict(embed_dims=64, num_layers=2, num_heads=2, patch_size=8,
                   img_size=32, out_dims=16)


def clip_classifier(prompt, vision='tiny', seed=0, init_cfg=None):
    torch.manual_seed(seed)
    return MODELS.build(dict(
        type='MultiTaskCLIPClassifier', tasks=TASKS,
        class_names=('red', 'green apple', 'tv'),
        vision_encoder=dict(type='CLIPVisionTransformer', arch=vision),
        text_encoder=dict(type='CLIPTextTransformer', arch='tiny'),
        prompt=prompt, init_cfg=init_cfg)).eval()


def phrase_embeds(model, phrase='a photo of a'):
    ids = torch.tensor(model.tokenizer.encode(phrase))
    with torch.no_grad():
        return model.text_encoder.token_embed(ids)


@pytest.mark.parametrize('prompt', [
    dict(type='CoOpPrompt', ctx_init='a photo of a'),
    dict(type='CoOpPrompt', ctx_init='a photo of a', num_ctx=2,
         task_specific=True, groups=dict(g0=['a', 'b'], g1=['c'])),
    dict(type='MaPLePrompt', num_ctx=2, depth=1),
])
def test_ctx_init_gives_frozen_clip_text_features(prompt):
    """Before training, "<ctx from 'a photo of a'> <class>." through the
    prompted text tower equals frozen CLIP's "a photo of a <class>."."""
    frozen = clip_classifier(None)
    model = clip_classifier(prompt)
    assert model._class_texts('a')[1] == 'a photo of a green apple.'
    with torch.no_grad():
        for task in TASKS:
            assert torch.allclose(model.encode_text(task),
                                  frozen.encode_text(task), atol=1e-6,
                                  rtol=0), task


def test_mmap_layer0_text_prompts_get_positions():
    """MmAP shares the layer-0 text path: a source set to the phrase's word
    embeddings (factors 1) gives frozen CLIP's features too."""
    frozen = clip_classifier(None, vision=WIDE_VISION)
    model = clip_classifier(dict(type='MmAPPrompt', length=4, depth=1),
                            vision=WIDE_VISION)
    unit = model.prompt.units['shared_all']
    assert unit.text_factor.shape == (1, 1, 1)  # gcd(32, 64) = 32 = D_text
    with torch.no_grad():
        unit.source[0].copy_(phrase_embeds(model))
        # the classifier wrote placeholders: "X X X X <class>."
        assert model._class_texts('a')[0] == 'X X X X red.'
        assert torch.allclose(model.encode_text('a'),
                              frozen.encode_text('a'), atol=1e-6, rtol=0)


def test_coop_ctx_init_copies_the_phrase_embeddings():
    model = clip_classifier(dict(type='CoOpPrompt', ctx_init='a photo of a'))
    ctx = model.prompt.units['shared_all'].ctx
    assert ctx.shape == (4, 32)  # M = the phrase's word count, as CoOp
    assert torch.equal(ctx.detach(), phrase_embeds(model))
    assert ctx.requires_grad
    # without ctx_init: CoOp's random N(0, 0.02^2) context of 16 tokens
    plain = clip_classifier(dict(type='CoOpPrompt'))
    assert plain.prompt.units['shared_all'].ctx.shape == (16, 32)
    assert plain._class_texts('a')[0] == ' '.join(['X'] * 16) + ' red.'
    # [shared; task]: the task unit continues the phrase
    mt = clip_classifier(dict(type='CoOpPrompt', ctx_init='a photo of a',
                              num_ctx=2, task_specific=True))
    emb = phrase_embeds(mt)
    assert torch.equal(mt.prompt.units['shared_all'].ctx.detach(), emb[:2])
    assert torch.equal(mt.prompt.units['task_b'].ctx.detach(), emb[2:])


def test_maple_ctx_init_default_and_clone_couplings():
    model = clip_classifier(dict(type='MaPLePrompt', num_ctx=2, depth=2))
    assert model.prompt.ctx_init == 'a photo of a'  # MaPLe's CTX_INIT
    unit = model.prompt.units['shared_all']
    emb = phrase_embeds(model)
    # the 2 learned tokens start as "a photo"; "of a" stays written text
    assert torch.equal(unit.ctx[0].detach(), emb[:2])
    assert model._class_texts('a')[0] == 'a photo of a red.'
    # deeper contexts stay random N(0, 0.02^2)
    assert not torch.allclose(unit.ctx[1], emb[:2])
    # couplings: layer 0 its own fresh layer; deeper ones copies of one
    deep = build(dict(type='MaPLePrompt', num_ctx=2, depth=9),
                 embed_dims=768, num_layers=12, text_dims=512,
                 num_text_layers=12, patch_size=16)
    cp = deep.units['shared_all'].couplings
    for lin in cp[2:]:
        assert torch.equal(lin.weight, cp[1].weight)
        assert torch.equal(lin.bias, cp[1].bias)
        assert lin.weight is not cp[1].weight  # copies, not shared
    assert not torch.allclose(cp[0].weight, cp[1].weight)
    deep.reset_parameters()
    assert torch.equal(cp[8].weight, cp[1].weight)
    # copies train apart
    cp[2].weight.sum().backward()
    torch.optim.SGD(deep.parameters(), lr=1.).step()
    assert not torch.allclose(cp[2].weight, cp[3].weight)
    assert torch.equal(cp[3].weight, cp[1].weight)


def test_maple_configs_start_from_a_photo_of_a():
    import glob
    import os.path as osp
    from mmengine.config import Config
    root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
        osp.abspath(__file__)))))
    paths = sorted(glob.glob(osp.join(root, 'configs', 'mmap',
                                      'maple-mt_*.py')))
    assert len(paths) == 3
    for path in paths:
        prompt = Config.fromfile(path).model.prompt
        assert prompt.type == 'MaPLePrompt', path
        assert prompt.ctx_init == 'a photo of a', path


def test_ctx_init_follows_the_loaded_clip_weights(tmp_path):
    """The context starts from the PRETRAINED word embeddings: init_weights
    loads CLIP first, then applies ctx_init."""
    source = clip_classifier(None, seed=1)
    path = str(tmp_path / 'clip.pth')
    torch.save(dict(state_dict=source.state_dict()), path)
    model = clip_classifier(dict(type='CoOpPrompt', ctx_init='a photo of a'),
                            seed=2, init_cfg=dict(type='Pretrained',
                                                  checkpoint=path))
    before = model.prompt.units['shared_all'].ctx.detach().clone()
    model.init_weights()
    ctx = model.prompt.units['shared_all'].ctx.detach()
    assert not torch.allclose(before, ctx)
    assert torch.equal(ctx, phrase_embeds(source))
    with torch.no_grad():
        assert torch.allclose(model.encode_text('b'),
                              source.encode_text('b'), atol=1e-6, rtol=0)


def test_ctx_init_errors():
    with pytest.raises(ValueError, match='"a photo of a" has 4 tokens, '
                       'fewer than the 6'):
        clip_classifier(dict(type='MaPLePrompt', num_ctx=6, depth=1))
    with pytest.raises(ValueError, match='no free text context'):
        build(dict(type='MmAPPrompt', length=2, depth=2,
                   ctx_init='a photo of a'))
    with pytest.raises(ValueError, match='non-empty phrase'):
        build(dict(type='CoOpPrompt', num_ctx=2, ctx_init=' '))
