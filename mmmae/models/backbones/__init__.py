from .multivit import MultiViT

__all__ = ['MultiViT']
