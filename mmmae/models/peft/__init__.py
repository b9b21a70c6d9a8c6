from .base_peft import BasePEFT, MergeError
from .lora import LoRA, LoRABranch

__all__ = ['BasePEFT', 'MergeError', 'LoRA', 'LoRABranch']
