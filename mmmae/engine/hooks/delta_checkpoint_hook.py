"""Save trainable-only checkpoints; load them on top of their base."""
import os.path as osp
import warnings
from typing import Optional, Sequence, Union

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import find_latest_checkpoint

from mmmae.registry import HOOKS
from mmmae.utils.delta_checkpoint import (DELTA_KEY, base_file_name,
                                          base_record, fingerprint,
                                          frozen_parameter_names, is_delta,
                                          make_delta, merge_base,
                                          pretrained_sources,
                                          write_frozen_base)
from mmmae.utils.model_identity import model_identity


@HOOKS.register_module()
class DeltaCheckpointHook(Hook):
    """Make a frozen-backbone run's checkpoints hold only what it trains.

    A Runner-level hook rather than a model state-dict hook: the record of
    the base (checkpoint paths, prefixes, fingerprint) needs the runner's
    ``load_from`` and ``work_dir``, it goes into ``checkpoint['meta']``, and
    ``model.state_dict()`` keeps its usual meaning for every other caller.

    - ``before_train``: fingerprints the frozen parameters and records where
      they came from (``init_cfg=dict(type='Pretrained')`` of any module,
      then ``load_from``, each local file with its sha256; on resume, the
      sources of the resumed checkpoint). With no such source it stores the
      frozen tensors in ``<work_dir>/frozen_base-<fingerprint[:12]>.pth``,
      written once and reused, never overwritten. With nothing frozen (a
      prompt config with ``backbone.frozen=False``) it warns and the
      checkpoints stay full.
    - ``before_save_checkpoint``: drops the frozen parameters from the state
      dict and stores the record in ``meta['delta_checkpoint']``.
    - ``after_load_checkpoint`` (test, resume, ``load_from``): for a delta
      checkpoint, loads the base into the model, checks the fingerprint and
      completes the state dict (see ``mmmae.utils.delta_checkpoint``). It
      logs one line, ``loaded delta checkpoint X: N tensors (P params) from
      the delta, M tensors from base Y``, instead of mmengine's
      missing-keys warning; a warning when a tensor is in neither.

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
        self._resumed_record: Optional[dict] = None

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        if not self.save_delta:
            return
        model = self._model(runner)
        if not frozen_parameter_names(model):
            self._record = None
            self._warn_nothing_frozen(runner, model)
            return
        fp = fingerprint(model)
        resumed = self._resumed_record
        if resumed is not None and resumed['fingerprint'] == fp:
            # The resumed checkpoint's base is this run's base.
            sources = [dict(s) for s in resumed['sources']]
        else:
            load_from = None if runner._resume else runner._load_from
            sources = pretrained_sources(model, load_from)
        if not sources:
            if is_main_process():
                sources = write_frozen_base(model, runner.work_dir,
                                            logger=runner.logger)
            else:
                path = osp.join(runner.work_dir, base_file_name(fp))
                sources = [dict(path=osp.abspath(path), prefix=None,
                                target='', sha256=None)]
        self._record = base_record(model, sources)
        runner.logger.info(
            'DeltaCheckpointHook: checkpoints keep the trainable part only; '
            f'base {[s["path"] for s in sources]}, '
            f'{self._record["num_frozen"]} frozen tensors, fingerprint '
            f'{self._record["fingerprint"][:12]}')

    @staticmethod
    def _warn_nothing_frozen(runner, model) -> None:
        total = sum(p.numel() for p in model.parameters())
        prompt = model_identity(model)['prompt']
        what = (f'the model has a prompt ({prompt}) but ' if prompt else '')
        msg = (f'DeltaCheckpointHook: {what}no parameter is frozen, so all '
               f'{total} parameters (100%) train: this is full fine-tuning, '
               'not prompt tuning. Set model.backbone.frozen=True (or the '
               "model's frozen=True) to train the prompts on a frozen "
               'backbone. Checkpoints are written in full (no base file).')
        warnings.warn(msg, UserWarning, stacklevel=2)
        runner.logger.warning(msg)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.save_delta and self._record is not None:
            make_delta(checkpoint, self._model(runner), self._record)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not is_delta(checkpoint):
            return
        if runner._resume:
            self._resumed_record = checkpoint['meta'][DELTA_KEY]
        near = runner._load_from if isinstance(runner._load_from,
                                               str) else None
        if near is None and runner._resume:  # resume of the latest
            near = find_latest_checkpoint(runner.work_dir)
        # One line instead of mmengine's missing-keys warning: the base
        # loads quietly, and what the delta lacks is filled from it.
        merge_base(self._model(runner), checkpoint, self.base_checkpoint,
                   near=near).log(runner.logger)
