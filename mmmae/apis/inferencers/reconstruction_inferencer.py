"""Inferencer of MultiMAE masked reconstruction, as the public MultiMAE demo.

The demo (EPFL-VILAB/MultiMAE ``MultiMAE_Demo.ipynb``) feeds one image's
rgb (and depth / semseg), keeps ``num_encoded_tokens`` visible tokens
shared out among the modalities by a Dirichlet draw (``alphas``) under a
fixed seed, or takes the masks it is given, and shows every modality's
masked input beside its reconstruction. Here:

- ``num_visible`` (or ``mask_ratio``) and ``alpha`` set the Dirichlet draw
  (default: the model's ``DirichletMasking``), ``visible={modality: n}``
  fixes how many tokens of each modality stay visible (positions random),
  ``masks={modality: (h, w) array}`` gives the masks outright (1 = hidden,
  as the demo's ``task_masks``), and ``seed`` makes a draw reproducible
  without touching the global RNG;
- a decoder whose modality was not given (depth from an rgb image) is
  predicted from the visible tokens alone: its row shows no input.
"""
import contextlib
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

from mmmae.engine.hooks.reconstruction_hook import reconstruction_panels
from mmmae.models.losses import MaskedCrossEntropyLoss
from mmmae.models.pretrainers.masking import DirichletMasking
from mmmae.registry import INFERENCERS
from .base import MMMAEInferencer
from .demo_masking import GivenCountMasking, GivenMasks
from mmmae.visualization import annotate as A


@INFERENCERS.register_module()
class MultiMAEReconstructionInferencer(MMMAEInferencer):
    """Masked inputs and MultiMAE reconstructions of images.

    Example::

        inferencer = MultiMAEReconstructionInferencer(
            'configs/multimae/<pretrain config>.py', '<checkpoint>.pth')
        out = inferencer('a.png', num_visible=16, seed=1, out_dir='outputs')
        inferencer(dict(rgb='a.png', depth='a_d.png'),
                   visible=dict(rgb=8, depth=4))

    Args:
        model, weights, device, cfg_options, show_progress: See
            :class:`MMMAEInferencer`; the model is a ``MultiMAE``.

    Call options: ``num_visible`` (int) or ``mask_ratio`` (float in [0, 1)),
    ``alpha`` (Dirichlet concentration), ``visible`` ({modality: count},
    overrides the three), ``masks`` ({modality: (h, w) 0/1 array}, 1 =
    hidden; overrides all but ``visible``, which it excludes), ``seed``
    (int, default 0; None draws freshly).

    Returns (``__call__``): ``predictions``, per input a dict: per decoder
    output ``name`` the reconstruction (C, H, W) float32 in the target's
    units, or (H, W) int64 labels, and ``mask_<modality>`` (h, w) uint8
    patch masks (1 = hidden). ``visualization``: per input an RGB picture
    with one row per output: masked input | reconstruction (visible patches
    pasted back) | input, titled; depth with a colour bar shared by the row
    (standardised depth, as the model sees it), labels with a legend.
    ``out_dir`` receives ``<name>.png`` and ``<name>_<output>.npy``.
    """

    forward_kwargs = {
        'num_visible', 'mask_ratio', 'alpha', 'visible', 'masks', 'seed'
    }

    def _check_model(self, model: nn.Module) -> None:
        if not hasattr(model, 'decoders') or not hasattr(model, 'reconstruct'):
            raise TypeError(
                'MultiMAEReconstructionInferencer takes MultiMAE pre-training '
                f'models (with decoders); {type(model).__name__} is not one')

    @property
    def known_modalities(self):
        return tuple(self.model.backbone.input_adapters)

    def _init_pipeline(self, cfg):
        return self._multimodal_pipeline(cfg)

    def _modalities_of(self, item: dict):
        return tuple(self._as_dict(item))

    def _as_dict(self, item) -> dict:
        item = item if isinstance(item, dict) else dict(rgb=item)
        unknown = [m for m in item if m not in self.known_modalities]
        if unknown:
            raise KeyError(f'inputs {unknown} have no input adapter in the '
                           f'MultiMAE model; it knows '
                           f'{list(self.known_modalities)}')
        return item

    def preprocess(self, inputs: list, batch_size: int = 1):
        # One batch holds one set of modalities.
        chunk, keys = [], None
        for item in inputs:
            names = tuple(self._as_dict(item))
            if chunk and (len(chunk) == batch_size or names != keys):
                yield self.collate_fn(chunk)
                chunk = []
            chunk.append(self.pipeline(item))
            keys = names
        if chunk:
            yield self.collate_fn(chunk)

    # ------------------------------------------------------------ masking
    def _masking(self, num_tokens: int, num_visible: Optional[int],
                 mask_ratio: Optional[float], alpha,
                 visible: Optional[Dict[str, int]], masks,
                 given) -> nn.Module:
        if masks is not None:
            if visible is not None:
                raise ValueError('give visible or masks, not both')
            return GivenMasks(masks)
        if visible is not None:
            unknown = [m for m in visible if m not in given]
            if unknown:
                raise KeyError(f'visible names {unknown}, which are not '
                               f'among the inputs given {list(given)}')
            bad = {m: n for m, n in visible.items()
                   if not 0 <= int(n) <= given[m]}
            if bad or sum(visible.values()) < 1:
                raise ValueError(
                    f'visible counts {dict(visible)} must be within the '
                    f'tokens of each input {dict(given)}, at least one in '
                    'all')
            return GivenCountMasking({m: int(n) for m, n in visible.items()})
        default = self.model.masking
        if mask_ratio is not None:
            if num_visible is not None:
                raise ValueError('give num_visible or mask_ratio, not both')
            if not 0 <= mask_ratio < 1:
                raise ValueError(f'mask_ratio must be in [0, 1), got '
                                 f'{mask_ratio}')
            num_visible = max(1, round((1 - mask_ratio) * num_tokens))
        if num_visible is None:
            num_visible = min(default.num_encoded_tokens, num_tokens)
        return DirichletMasking(
            num_encoded_tokens=int(num_visible),
            alpha=getattr(default, 'alpha', 1.) if alpha is None else alpha)

    @contextlib.contextmanager
    def _use_masking(self, masking: nn.Module, seed: Optional[int],
                     device: torch.device):
        old = self.model.masking
        self.model.masking = masking
        devices = [device] if device.type == 'cuda' else []
        try:
            with torch.random.fork_rng(devices=devices):
                if seed is not None:
                    torch.manual_seed(seed)
                yield
        finally:
            self.model.masking = old

    @torch.no_grad()
    def forward(self, data: dict, num_visible: Optional[int] = None,
                mask_ratio: Optional[float] = None, alpha=None,
                visible: Optional[Dict[str, int]] = None,
                masks: Optional[Dict[str, np.ndarray]] = None,
                seed: Optional[int] = 0) -> List[dict]:
        data = self.model.data_preprocessor(data, False)
        inputs = self.model._encoder_inputs(data['inputs'])
        # Tokens per modality, as the encoder will count them.
        _, layout = self.model.backbone.tokenize(inputs)
        given = {m: s.stop - s.start for m, s in layout.modalities.items()}
        masking = self._masking(sum(given.values()), num_visible,
                                mask_ratio, alpha, visible, masks, given)
        device = next(iter(inputs.values())).device
        with self._use_masking(masking, seed, device):
            out = self.model.reconstruct(inputs)
        return self._samples(inputs, out)

    def _samples(self, inputs: dict, out: dict) -> List[dict]:
        """Per image: output -> dict(pred, target or None, mask)."""
        B = next(iter(inputs.values())).shape[0]
        samples = [dict() for _ in range(B)]
        for name, dec in self.model.decoders.items():
            task, pred = dec.task, out[name].float()
            patch_mask = out[f'mask_{task}']
            scale = pred.shape[-1] // patch_mask.shape[-1]
            mask = patch_mask.repeat_interleave(scale, 1).repeat_interleave(
                scale, 2)[:, None]  # B 1 H W
            target = inputs.get(task)
            if target is not None:
                target = target[:, None] if target.dim() == 3 else target
                pred = self.model._to_target_units(name, pred, target,
                                                   patch_mask)
            elif isinstance(self.model.losses[name], MaskedCrossEntropyLoss):
                pred = pred.argmax(1, keepdim=True)  # logits -> labels
            for i in range(B):
                samples[i][name] = dict(
                    task=task, pred=pred[i],
                    target=None if target is None else target[i],
                    mask=mask[i], patch_mask=patch_mask[i])
        return samples

    # ------------------------------------------------------------ drawing
    def draw(self, sample: dict) -> np.ndarray:
        """One RGB picture: a row per output, three titled columns (masked
        input | reconstruction with the visible patches pasted back |
        input), drawn as ``ReconstructionHook`` draws them: depth with a
        shared colour bar, labels with a legend of the model's classes."""
        size = next(iter(sample.values()))['mask'].shape[-2:]
        meta = self.model.dataset_meta or {}
        cells = []
        for name, rec in sample.items():
            pred, target = rec['pred'], rec['target']
            if target is not None and target.is_floating_point():
                pred = pred.float()
            cells += reconstruction_panels(
                name, pred, target, rec['mask'], size,
                meta.get('classes'), meta.get('palette'))
        return A.grid(cells, ncols=3)

    def visualize(self, inputs: list, preds: list, names: List[str],
                  show: bool = False,
                  out_dir: Optional[str] = None) -> List[np.ndarray]:
        pictures = []
        for sample, name in zip(preds, names):
            picture = self.draw(sample)
            self._show_and_save(picture, name, show, out_dir)
            pictures.append(picture)
        return pictures

    def output_files(self, name: str, out_dir: str, **kwargs) -> List[str]:
        return [osp.join(out_dir, f'{name}.png')] + [
            osp.join(out_dir, f'{name}_{o}.npy') for o in self.model.decoders]

    def _arrays(self, sample: dict) -> dict:
        out = {}
        for name, rec in sample.items():
            pred = rec['pred'].detach().cpu()
            out[name] = pred[0].long().numpy() if not \
                pred.is_floating_point() else pred.float().numpy()
            out[f'mask_{rec["task"]}'] = rec['patch_mask'].cpu().numpy(
            ).astype(np.uint8)
        return out

    def postprocess(self, preds: list, visualization: list,
                    return_datasamples: bool = False,
                    names: Optional[List[str]] = None,
                    out_dir: Optional[str] = None) -> dict:
        results = []
        for i, sample in enumerate(preds):
            arrays = self._arrays(sample)
            if out_dir is not None:
                for o in self.model.decoders:
                    self._save_npy(osp.join(out_dir, f'{names[i]}_{o}.npy'),
                                   arrays[o])
            results.append(sample if return_datasamples else arrays)
        return dict(predictions=results, visualization=visualization)
