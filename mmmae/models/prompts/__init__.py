from .base_prompt import BasePrompt, PromptContext

__all__ = ['BasePrompt', 'PromptContext']
