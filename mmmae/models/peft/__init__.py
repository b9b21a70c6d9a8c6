from .base_peft import BasePEFT, MergeError

__all__ = ['BasePEFT', 'MergeError']
