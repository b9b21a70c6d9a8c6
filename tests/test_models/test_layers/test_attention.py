import torch

from mmmae.models.layers import Attention, Block, CrossAttention, CrossAttentionBlock


def _reference_attention(q, k, v):
    weights = (q @ k.transpose(-2, -1) / q.shape[-1]**0.5).softmax(-1)
    return weights @ v


def test_attention_matches_explicit_softmax():
    torch.manual_seed(0)
    attn = Attention(32, num_heads=4).eval()
    x = torch.randn(2, 7, 32)
    B, N, D = x.shape
    qkv = attn.qkv(x).reshape(B, N, 3, 4, 8).permute(2, 0, 3, 1, 4)
    ref = _reference_attention(*qkv.unbind(0)).transpose(1, 2).reshape(B, N, D)
    assert torch.allclose(attn(x), attn.proj(ref), atol=1e-5)


def test_cross_attention_reads_only_the_context():
    torch.manual_seed(0)
    attn = CrossAttention(32, num_heads=4).eval()
    q = torch.randn(2, 5, 32)
    ctx = torch.randn(2, 9, 32)
    out = attn(q, ctx)
    assert out.shape == (2, 5, 32)
    # Each query is independent of the others: permuting queries permutes out.
    perm = torch.randperm(5)
    assert torch.allclose(attn(q[:, perm], ctx), out[:, perm], atol=1e-5)
    # Permuting the context leaves the output unchanged (no positions inside).
    cperm = torch.randperm(9)
    assert torch.allclose(attn(q, ctx[:, cperm]), out, atol=1e-5)


def test_blocks_keep_shapes_and_are_residual():
    block = Block(32, 2, drop_path=0.1).eval()
    x = torch.randn(2, 6, 32)
    assert block(x).shape == x.shape
    cblock = CrossAttentionBlock(32, 2).eval()
    assert cblock(x[:, :3], x).shape == (2, 3, 32)
    # Zeroed output projections turn a block into the identity.
    for m in (block.attn.proj, block.mlp.fc2):
        torch.nn.init.zeros_(m.weight)
        torch.nn.init.zeros_(m.bias)
    assert torch.equal(block(x), x)


def test_attention_rejects_indivisible_heads():
    import pytest
    with pytest.raises(ValueError, match='embed_dims=30'):
        Attention(30, num_heads=4)


def test_attention_takes_a_fused_sdpa_kernel():
    """Self- and cross-attention reach a fused SDPA kernel (the CPU flash
    kernel here), never the unfused math fallback."""
    from torch.profiler import ProfilerActivity, profile
    attn, cross = Attention(32, 4).eval(), CrossAttention(32, 4).eval()
    x = torch.randn(2, 7, 32)
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU]) as prof:
        attn(x)
        cross(x[:, :3], x)
    keys = {e.key for e in prof.key_averages()}
    fused = {k for k in keys if 'flash_attention' in k
             or 'efficient_attention' in k}
    assert fused, keys
    assert not any('attention_math' in k for k in keys), keys


def _assert_xavier_blocks(weight, num_blocks):
    """Each D x D block is xavier-uniform on its own: bound sqrt(6 / 2D).

    A fused (num_blocks*D) x D xavier would have the tighter bound
    sqrt(6 / ((num_blocks + 1) D)), which the block maxima exceed.
    """
    blocks = weight.view(num_blocks, -1, weight.shape[1])
    dims = blocks.shape[-1]
    bound = (6 / (2 * dims))**0.5
    fused_bound = (6 / ((num_blocks + 1) * dims))**0.5
    for block in blocks:
        assert block.abs().max() <= bound
        if num_blocks > 1:
            assert block.abs().max() > fused_bound
        # Uniform(-b, b) has std b / sqrt(3) = sqrt(1 / D).
        assert abs(block.std().item() - dims**-0.5) < 0.1 * dims**-0.5


def test_qkv_init_is_three_xavier_blocks():
    """MultiMAE initialises q, k and v (and a cross-attention's k and v) as
    separate xavier blocks, with zero biases."""
    torch.manual_seed(0)
    attn = Attention(64, num_heads=4)
    _assert_xavier_blocks(attn.qkv.weight, 3)
    assert not attn.qkv.bias.any() and not attn.proj.bias.any()
    cross = CrossAttention(64, num_heads=4)
    _assert_xavier_blocks(cross.kv.weight, 2)
    _assert_xavier_blocks(cross.q.weight, 1)
    assert not cross.kv.bias.any()
    # reset_parameters re-draws the same law after any change.
    torch.nn.init.zeros_(attn.qkv.weight)
    attn.reset_parameters()
    _assert_xavier_blocks(attn.qkv.weight, 3)
