"""Initial values of the pre-training model follow the MultiMAE reference:
q, k, v as separate xavier blocks (``multimae/multimae.py`` ``__init__``) and
a zero decoder mask token (``multimae/output_adapters.py``)."""
import torch

from mmmae.registry import MODELS


def _xavier_block_max(weight, num_blocks):
    return [b.abs().max().item()
            for b in weight.view(num_blocks, -1, weight.shape[1])]


def _build(init_weights):
    torch.manual_seed(0)
    dec = dict(type='SpatialCrossAttentionDecoder', embed_dims=64,
               num_heads=4, depth=1)
    model = MODELS.build(dict(
        type='MultiMAE',
        backbone=dict(
            type='MultiViT', img_size=32, patch_size=8,
            arch=dict(embed_dims=64, depth=2, num_heads=4, mlp_ratio=4.),
            input_adapters=dict(
                rgb=dict(type='PatchedInputAdapter', in_channels=3))),
        masking=dict(type='DirichletMasking', num_encoded_tokens=4),
        decoders=dict(rgb=dict(dec, out_channels=3)),
        losses=dict(rgb=dict(type='MaskedMSELoss'))))
    if init_weights:
        model.init_weights()
    return model


def test_encoder_and_decoder_qkv_are_separate_xavier_blocks():
    for init_weights in (False, True):
        model = _build(init_weights)
        bound, fused = (6 / 128)**0.5, (6 / 256)**0.5
        qkvs = [b.attn.qkv.weight for b in model.backbone.blocks]
        dec = model.decoders['rgb']
        qkvs += [b.attn.qkv.weight for b in dec.blocks]
        for w in qkvs:
            for m in _xavier_block_max(w, 3):
                assert fused < m <= bound
        for m in _xavier_block_max(dec.cross_attn.kv.weight, 2):
            assert (6 / 192)**0.5 < m <= bound


def test_decoder_mask_token_starts_at_zero():
    for init_weights in (False, True):
        dec = _build(init_weights).decoders['rgb']
        assert dec.mask_token.shape == (1, 1, 64)
        assert torch.equal(dec.mask_token, torch.zeros(1, 1, 64))
        # Modality embeddings keep their small normal draw.
        emb = dec.task_embeddings['rgb']
        assert emb.abs().max() > 0 and emb.std() < 0.05
