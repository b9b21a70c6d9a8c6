from .adapters import AdaptFormer, Bottleneck, HoulsbyAdapter
from .base_peft import BasePEFT, MergeError
from .bias_norm_tuning import BitFit, LNTuning
from .lora import LoRA, LoRABranch
from .mtlora import MTLoRA

__all__ = [
    'BasePEFT', 'MergeError', 'LoRA', 'LoRABranch', 'MTLoRA', 'AdaptFormer',
    'HoulsbyAdapter', 'Bottleneck', 'BitFit', 'LNTuning'
]
