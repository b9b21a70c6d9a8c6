from .activation_checkpoint import check_with_cp, checkpoint_call
from .attention import Attention, CrossAttention
from .block import Block, CrossAttentionBlock, LayerNorm
from .mlp import Mlp
from .pos_embed import build_2d_sincos_pos_embed, resize_pos_embed
from .token_layout import TokenLayout

__all__ = [
    'Attention', 'CrossAttention', 'Block', 'CrossAttentionBlock',
    'LayerNorm', 'Mlp', 'build_2d_sincos_pos_embed', 'resize_pos_embed',
    'TokenLayout', 'checkpoint_call', 'check_with_cp'
]
