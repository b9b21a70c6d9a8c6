"""mmengine's ``FSDPStrategy`` with a resume that works on torch >= 2.1.

mmengine 0.10 calls ``FSDP.optim_state_dict_to_load(state_dict, model,
optimizer)``, torch 2.0's argument order. torch 2.1 made it ``(model, optim,
optim_state_dict)``, so ``--resume`` of an FSDP run fails with
``TypeError: unhashable type: 'dict'`` (the state dict is walked as the
model). Registered under the same name in mmmae's scope, so configs that
ask for ``type='FSDPStrategy'`` get this one; everything else is mmengine's.
"""
from mmengine._strategy.fsdp import FSDPStrategy as _FSDPStrategy
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

from mmmae.registry import STRATEGIES


@STRATEGIES.register_module(name='FSDPStrategy')
class FSDPStrategy(_FSDPStrategy):
    """``FSDPStrategy`` whose optimizer state loads on torch >= 2.1."""

    def load_optim_state_dict(self, state_dict: dict) -> None:
        """Load an optimizer state saved by :meth:`optim_state_dict`
        (``state_dict_cfg`` 'full' or 'local') into the sharded optimizer."""
        optim_state_dict = FSDP.optim_state_dict_to_load(
            model=self.model,
            optim=self.optim_wrapper.optimizer,
            optim_state_dict=state_dict)
        self.optim_wrapper.load_state_dict(optim_state_dict)
