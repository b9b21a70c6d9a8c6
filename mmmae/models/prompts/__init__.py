from .base_prompt import BasePrompt, PromptContext
from .modality_aware_prompt import ModalityAwarePrompt
from .multi_task_prompt import MultiTaskPrompt
from .prompt_pool import PromptPool
from .task_prompt_pool import TaskPromptPool
from .vpt import DeepPrompt, ShallowPrompt

__all__ = [
    'BasePrompt', 'PromptContext', 'ShallowPrompt', 'DeepPrompt',
    'PromptPool', 'MultiTaskPrompt', 'ModalityAwarePrompt', 'TaskPromptPool'
]
from . import clip  # noqa: F401
