from . import hooks, optimizers, strategies

__all__ = ['hooks', 'optimizers', 'strategies']
