from .layers import CLIPAttention, CLIPBlock, CLIPMlp, QuickGELU
from .text_transformer import CLIPTextTransformer
from .tokenizer import CLIPTokenizer
from .vision_transformer import CLIPVisionTransformer

__all__ = [
    'CLIPVisionTransformer', 'CLIPTextTransformer', 'CLIPTokenizer',
    'CLIPBlock', 'CLIPAttention', 'CLIPMlp', 'QuickGELU'
]
