"""Conv heads' switches: ``with_cp`` gives the same gradients, and
``channels_last`` the same outputs and gradients, as the plain path."""
import pytest
import torch

from mmmae.registry import MODELS

HEADS = {
    'convnext': dict(type='ConvNeXtHead', in_channels=32, channels=16,
                     num_blocks=2, num_classes=5, drop_path_rate=0.2),
    'dpt': dict(type='MultiMAEDPTHead', embed_dims=32, in_index=(0, 0, 1, 1),
                channels=16, post_process_channels=(8, 8, 16, 16),
                head_channels=(8, 4)),
}


def _head(kind, **kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(HEADS[kind], **kwargs)).train()


def _run(head):
    torch.manual_seed(1)  # the same drop-path draws
    g = torch.Generator().manual_seed(2)
    feats = tuple(torch.randn(2, 32, 3, 4, generator=g, requires_grad=True)
                  for _ in range(2))
    out = head(feats)
    loss = (out * out).mean() + out.mean()
    params = [p for p in head.parameters()]
    grads = torch.autograd.grad(loss, list(feats) + params,
                                allow_unused=True)  # ConvNeXt reads one map
    return out.detach(), grads


def _assert_same(kind, **switch):
    out_ref, g_ref = _run(_head(kind, channels_last=False))
    out, g = _run(_head(kind, **dict(dict(channels_last=False), **switch)))
    torch.testing.assert_close(out, out_ref, rtol=1e-5, atol=1e-5)
    assert len(g) == len(g_ref)
    assert sum(b is not None for b in g_ref) > 1
    for a, b in zip(g, g_ref):
        if b is None:
            assert a is None
        else:
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('kind', sorted(HEADS))
def test_with_cp_gives_the_same_gradients_and_recomputes(kind):
    _assert_same(kind, with_cp=True)
    head = _head(kind, with_cp=True)
    calls = []
    inner = head.blocks[0] if kind == 'convnext' else head.conv_depth
    inner.register_forward_pre_hook(lambda *a: calls.append(1))
    _run(head)
    assert len(calls) == 2  # forward, then again in the backward pass


@pytest.mark.parametrize('kind', sorted(HEADS))
def test_channels_last_gives_the_same_outputs(kind):
    _assert_same(kind, channels_last=True)
    seen = []
    head = _head(kind)  # the default
    conv = head.blocks[0].depthwise_conv if kind == 'convnext' else \
        head.convs[0]
    conv.register_forward_pre_hook(lambda m, a: seen.append(
        a[0].is_contiguous(memory_format=torch.channels_last)))
    _run(head)
    assert seen == [True]


def test_both_switches_together():
    _assert_same('convnext', with_cp=True, channels_last=True)


def test_with_cp_on_a_head_without_blocks_names_it():
    with pytest.raises(ValueError, match=r'ConvNeXtHead \(num_blocks=0\)'):
        _head('convnext', num_blocks=0, with_cp=True)
