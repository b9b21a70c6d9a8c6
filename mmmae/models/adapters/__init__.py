from .base_input_adapter import BaseInputAdapter
from .patched_input_adapter import PatchedInputAdapter
from .semseg_input_adapter import SemSegInputAdapter

__all__ = ['BaseInputAdapter', 'PatchedInputAdapter', 'SemSegInputAdapter']
