"""Save trainable-only checkpoints; load them on top of their base."""
import os.path as osp
from typing import Optional, Sequence, Union

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmmae.registry import HOOKS
from mmmae.utils.delta_checkpoint import (base_record, is_delta, make_delta,
                                          merge_base, pretrained_sources,
                                          save_frozen_base)


@HOOKS.register_module()
class DeltaCheckpointHook(Hook):
    """Make a frozen-backbone run's checkpoints hold only what it trains.

    A Runner-level hook rather than a model state-dict hook: the record of
    the base (checkpoint paths, prefixes, fingerprint) needs the runner's
    ``load_from`` and ``work_dir``, it goes into ``checkpoint['meta']``, and
    ``model.state_dict()`` keeps its usual meaning for every other caller.

    - ``before_train``: fingerprints the frozen parameters and records where
      they came from (``init_cfg=dict(type='Pretrained')`` of any module,
      then ``load_from``); with no such source it writes the frozen tensors
      to ``<work_dir>/frozen_base.pth`` once.
    - ``before_save_checkpoint``: drops the frozen parameters from the state
      dict and stores the record in ``meta['delta_checkpoint']``.
    - ``after_load_checkpoint`` (test, resume, ``load_from``): for a delta
      checkpoint, loads the base into the model, checks the fingerprint and
      completes the state dict (see ``mmmae.utils.delta_checkpoint``).

    Args:
        save_delta (bool): Write delta checkpoints. Defaults to True.
        base_checkpoint (str | list[str], optional): Load-time override of
            the base path(s) a delta checkpoint recorded.
    """

    priority = 'NORMAL'

    def __init__(self,
                 save_delta: bool = True,
                 base_checkpoint: Union[None, str, Sequence[str]] = None):
        self.save_delta = save_delta
        self.base_checkpoint = base_checkpoint
        self._record: Optional[dict] = None

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        if not self.save_delta:
            return
        model = self._model(runner)
        load_from = None if runner._resume else runner._load_from
        sources = pretrained_sources(model, load_from)
        if not sources:
            path = osp.join(runner.work_dir, 'frozen_base.pth')
            sources = [dict(path=osp.abspath(path), prefix=None, target='')]
            if is_main_process():
                save_frozen_base(model, path)
                runner.logger.info(
                    'DeltaCheckpointHook: no pretrained source for the '
                    f'frozen weights, wrote them to {path}')
        self._record = base_record(model, sources)
        runner.logger.info(
            'DeltaCheckpointHook: checkpoints keep the trainable part only; '
            f'base {[s["path"] for s in sources]}, '
            f'{self._record["num_frozen"]} frozen tensors, fingerprint '
            f'{self._record["fingerprint"][:12]}')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.save_delta and self._record is not None:
            make_delta(checkpoint, self._model(runner), self._record)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if is_delta(checkpoint):
            merge_base(self._model(runner), checkpoint, self.base_checkpoint)
            runner.logger.info('DeltaCheckpointHook: loaded the base of a '
                               'delta checkpoint and checked its fingerprint')
