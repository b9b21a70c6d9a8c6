"""Exact MAC counts of mmmae.utils.flop_count against hand formulas."""
import torch
import torch.nn.functional as F
from torch import nn

from mmmae.utils.flop_count import ModuleMACCounter, count_flops


def Attention(embed_dims, num_heads):  # noqa: N802
    # Imported once the session fixture has registered every module (the
    # import order that mmmae's own entry points use).
    from mmmae.models.layers.attention import Attention as MultiMAEAttention
    return MultiMAEAttention(embed_dims, num_heads)


def _macs(model, *inputs):
    with torch.no_grad(), ModuleMACCounter(model) as counter:
        model(*inputs)
    return counter


def test_linear_macs():
    layer = nn.Linear(24, 40)
    counter = _macs(layer, torch.randn(3, 5, 24))
    # B*N rows, each Cin*Cout multiply-adds; the bias is not counted.
    assert counter.total == 3 * 5 * 24 * 40
    assert counter.macs[''] == counter.total


def test_conv_macs_grouped_and_strided():
    conv = nn.Conv2d(8, 12, 3, stride=2, padding=1, groups=4)
    counter = _macs(conv, torch.randn(2, 8, 16, 16))
    # Output 2 x 12 x 8 x 8, each Cin/groups * k * k multiply-adds.
    assert counter.total == 2 * 12 * 8 * 8 * (8 // 4) * 3 * 3


def test_attention_block_macs():
    B, N, D, H = 2, 17, 32, 4
    attn = Attention(D, H)
    counter = _macs(attn, torch.randn(B, N, D))
    qkv = B * N * D * 3 * D
    scores = B * H * N * N * (D // H)  # QK^T
    mix = B * H * N * N * (D // H)  # AV
    proj = B * N * D * D
    assert counter.total == qkv + scores + mix + proj
    assert counter.macs['qkv'] == qkv and counter.macs['proj'] == proj
    # SDPA runs in Attention.forward itself: its own share.
    sdpa = sum(v for k, v in counter.by_op.items()
               if 'scaled_dot_product' in k)
    assert sdpa == scores + mix
    rows = {r['name']: r for r in counter.rows()}
    assert rows['Attention (own)']['macs'] == scores + mix


def test_macs_are_half_of_flop_counter():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.GELU(), nn.Flatten(),
                          nn.Linear(8 * 6 * 6, 5))
    x = torch.randn(2, 3, 8, 8)
    assert 2 * _macs(model, x).total == count_flops(lambda: model(x))


class _Net(nn.Module):
    """Containers that are never called, a method that is not forward, a
    direct head.forward() call (as mmseg segmentors do)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Conv2d(8, 8, 3, padding=1)
                                    for _ in range(2))
        self.heads = nn.ModuleDict(dict(a=nn.Linear(8, 4), b=nn.Linear(8, 2)))
        self.scale = nn.Parameter(torch.ones(8))

    def features(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, x):
        x = self.features(x).mean((2, 3)) * self.scale
        extra = x @ x.t()  # an op of the root itself
        return [h.forward(x) for h in self.heads.values()], extra


def test_rows_sum_to_the_total_at_every_level():
    net = _Net()
    counter = _macs(net, torch.randn(2, 3, 6, 6))
    stem = 2 * 8 * 6 * 6 * 3 * 9
    block = 2 * 8 * 6 * 6 * 8 * 9
    heads = 2 * 8 * 4 + 2 * 8 * 2
    gram = 2 * 2 * 8
    assert counter.total == stem + 2 * block + heads + gram
    # Uncalled containers sum their children; direct forward() calls count.
    assert counter.macs['blocks'] == 2 * block
    assert counter.macs['heads'] == heads
    assert counter.macs['heads.a'] == 2 * 8 * 4
    params = sum(p.numel() for p in net.parameters())
    for depth in (0, 1, 2):
        rows = list(counter.rows(depth))
        leaves = [r for r in rows if r['leaf']]
        assert sum(r['macs'] for r in leaves) == counter.total
        assert sum(r['params'] for r in leaves) == params
    rows = {r['name']: r for r in counter.rows(1)}
    assert rows['_Net (own)']['macs'] == gram
    assert rows['_Net (own)']['params'] == 8  # scale
    assert rows['blocks']['leaf']  # its children are below depth 1
    # Forward wrappers are removed afterwards.
    assert 'forward' not in net.__dict__
    assert 'forward' not in net.heads['a'].__dict__


def test_existing_instance_forward_is_restored():
    layer = nn.Linear(4, 4)
    original = layer.forward
    layer.forward = lambda x: original(x) * 2
    patched = layer.forward
    _macs(layer, torch.randn(1, 4))
    assert layer.__dict__['forward'] is patched


def test_agrees_with_mmengine_without_attention():
    """mmengine's get_model_complexity_info ("flops" = MACs) gives the same
    count on a model of convolutions and linear layers."""
    from mmengine.analysis import get_model_complexity_info
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 16, 3, stride=2, groups=4), nn.ReLU(),
        nn.ConvTranspose2d(16, 8, 2, stride=2), nn.Flatten(),
        nn.Linear(8 * 14 * 14, 10)).eval()
    x = torch.randn(1, 3, 16, 16)
    ours = _macs(model, x).total
    theirs = get_model_complexity_info(model, inputs=(x, ), show_table=False,
                                       show_arch=False)['flops']
    assert ours == theirs > 0


def test_sdpa_counts_qk_and_av():
    q = torch.randn(2, 4, 16, 8)
    k = torch.randn(2, 4, 10, 8)
    v = torch.randn(2, 4, 10, 6)

    class Sdpa(nn.Module):

        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v)

    counter = _macs(Sdpa(), q, k, v)
    assert counter.total == 2 * 4 * 16 * 10 * 8 + 2 * 4 * 16 * 10 * 6


def test_mmengine_misses_sdpa_which_we_count():
    """On an attention block mmengine's counter (jit trace) skips
    ``aten::scaled_dot_product_attention``: it agrees with ours on the
    projections and lacks exactly QK^T and AV (docs/useful_tools.md)."""
    from mmengine.analysis import get_model_complexity_info
    B, N, D, H = 1, 17, 64, 4
    attn = Attention(D, H).eval()
    x = torch.randn(B, N, D)
    theirs = get_model_complexity_info(attn, inputs=(x, ), show_table=False,
                                       show_arch=False)['flops']
    assert _macs(attn, x).total - theirs == 2 * B * H * N * N * (D // H)
