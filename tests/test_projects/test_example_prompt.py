"""The out-of-tree plugin of ``projects/example_prompt``: its config loads the
package through ``custom_imports`` (mmmae never imports it), builds the
model, and a frozen-backbone step trains only the plugin and the heads."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmmae.models.prompts import BasePrompt
from mmmae.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(
    REPO, 'projects', 'example_prompt', 'configs',
    'scale-shift-prompt_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py')
K = 40


def _batch(batch=2, size=(64, 64)):
    samples = []
    for _ in range(batch):
        s = SegDataSample(metainfo=dict(img_shape=size, pad_shape=size,
                                        ori_shape=size))
        s.gt_sem_seg = PixelData(data=torch.randint(0, K, (1, *size)))
        s.gt_depth_map = PixelData(data=torch.rand(1, *size) + 0.5)
        samples.append(s)
    return dict(rgb=torch.randn(batch, 3, *size)), samples


def _model():
    cfg = Config.fromfile(CONFIG)  # runs custom_imports
    assert cfg.custom_imports['imports'] == [
        'projects.example_prompt.example_prompt']
    torch.manual_seed(0)
    return cfg, MODELS.build(cfg.model)


def test_config_builds_the_out_of_tree_prompt():
    _, model = _model()
    prompt = model.backbone.prompt
    assert type(prompt).__name__ == 'ScaleShiftDeepPrompt'
    assert type(prompt).__module__ == \
        'projects.example_prompt.example_prompt.scale_shift_prompt'
    assert isinstance(prompt, BasePrompt)
    # The backbone filled in its sizes.
    assert prompt.prompt.shape == (8, model.backbone.embed_dims)
    assert prompt.scale.shape == (model.backbone.num_layers,
                                  model.backbone.embed_dims)


def test_plugin_replaces_prompts_and_heads_see_patches_only():
    _, model = _model()
    bb = model.backbone
    bb.prompt.dropout.p = 0.
    with torch.no_grad():
        bb.prompt.scale.normal_()
    seen = []
    for block in bb.blocks:
        block.register_forward_pre_hook(
            lambda m, a: seen.append(a[0].detach().clone()))
    inputs, _ = _batch()
    feats = bb.forward_features(inputs)
    n_patch = (64 // 16)**2
    # Replaced, not accumulated: 8 prompts + patches + 1 global per block.
    assert [x.shape[1] for x in seen] == [8 + n_patch + 1] * bb.num_layers
    for i, x in enumerate(seen):
        expected = bb.prompt.prompt * (1 + bb.prompt.scale[i]) + \
            bb.prompt.shift[i]
        torch.testing.assert_close(x[0, :8], expected)
    maps = bb.tokens_to_maps(feats['tokens'], feats['layout'])
    assert all(m.shape == (2, bb.embed_dims, 4, 4) for m in maps)


def test_one_step_trains_the_plugin_and_heads_only():
    cfg, model = _model()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert {'backbone.prompt.prompt', 'backbone.prompt.scale',
            'backbone.prompt.shift'} <= trainable
    assert not any(n.startswith('backbone.') and
                   not n.startswith('backbone.prompt.') for n in trainable)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    losses = model(*_batch(), mode='loss')
    wrapper.update_params(sum(v for k, v in losses.items() if 'loss' in k))
    after = dict(model.named_parameters())
    for n, p in before.items():
        if n in trainable:
            continue
        assert torch.equal(p, after[n]), n
    assert not torch.equal(before['backbone.prompt.prompt'],
                           after['backbone.prompt.prompt'])
    # The plugin's parameters got the config's prompt lr multiplier.
    lrs = {id(p): g['lr'] for g in wrapper.optimizer.param_groups
           for p in g['params']}
    base_lr = cfg.optim_wrapper.optimizer.lr
    assert lrs[id(model.backbone.prompt.prompt)] == \
        base_lr * cfg.optim_wrapper.paramwise_cfg.prompt_lr_mult
