from .prompt_optim_wrapper_constructor import PromptOptimWrapperConstructor

__all__ = ['PromptOptimWrapperConstructor']
