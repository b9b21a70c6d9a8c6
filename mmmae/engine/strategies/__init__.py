from .fsdp_strategy import FSDPStrategy
from .wrap_policy import multivit_block_wrap_policy

__all__ = ['FSDPStrategy', 'multivit_block_wrap_policy']
