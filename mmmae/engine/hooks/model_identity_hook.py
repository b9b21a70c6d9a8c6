"""Record which model wrote a checkpoint; refuse another model's on load."""
from mmengine.hooks import Hook

from mmmae.registry import HOOKS
from mmmae.utils.delta_checkpoint import is_delta
from mmmae.utils.model_identity import (IDENTITY_KEY, WrongModelCheckpointError,
                                        check_model_checkpoint, model_identity)


@HOOKS.register_module()
class ModelIdentityHook(Hook):
    """Write ``meta['mmmae_model']`` into every checkpoint and check it on
    load (see :mod:`mmmae.utils.model_identity`).

    Runs before ``DeltaCheckpointHook`` on load, so a checkpoint of another
    model is reported as that, not as a wrong base.

    Args:
        strict (bool): Raise on a mismatch for every load. When False
            (training), only resume raises; ``load_from`` of another model
            (e.g. fine-tuning from a pre-training checkpoint) is a warning.
            ``tools/test.py`` sets True. Defaults to False.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, strict: bool = False):
        self.strict = strict

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})[IDENTITY_KEY] = model_identity(
            runner.model)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        filename = runner._load_from if isinstance(runner._load_from,
                                                   str) else None
        try:
            check_model_checkpoint(runner.model, checkpoint, filename,
                                   frozen_from_base=is_delta(checkpoint))
        except WrongModelCheckpointError as e:
            if self.strict or runner._resume:
                raise
            runner.logger.warning(f'ModelIdentityHook: {e}')
