from .multivit import MultiViT

__all__ = ['MultiViT']
from . import clip  # noqa: F401
