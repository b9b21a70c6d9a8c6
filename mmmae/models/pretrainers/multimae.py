"""MultiMAE masked multi-modal pre-training (Bachmann et al., ECCV 2022).

The algorithm in a few lines: tokenize every input modality with the
backbone's adapters, keep a Dirichlet-shared subset of the patch tokens (plus
the global token), run the encoder blocks on them, and let one decoder per
output reconstruct its modality; losses count masked patches only.
"""
import copy
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import Tensor

from mmmae.registry import MODELS
from ..layers import TokenLayout
from .masking import MaskingResult


@MODELS.register_module()
class MultiMAE(BaseModel):
    """MultiMAE pre-training model.

    Args:
        backbone (dict): ``MultiViT`` config; its input adapters define the
            modalities the encoder may see. It must not carry a prompt.
        decoders (dict): output name -> ``SpatialCrossAttentionDecoder``
            config. ``task`` (the modality predicted; default: the output
            name) lets two outputs share a target, e.g. ``norm_rgb`` with
            ``task='rgb'``. ``in_dims``, ``context_modalities``,
            ``patch_size`` and ``image_size`` are filled in from the backbone.
        losses (dict): output name -> loss config (``MaskedMSELoss``,
            ``MaskedL1Loss``, ``MaskedCrossEntropyLoss``), one per decoder.
        masking (dict): ``DirichletMasking`` config.
        predict_seed (int, optional): Seed of the masking draw in ``predict``
            so that reconstruction pictures are reproducible; the global RNG
            is left untouched. None draws freshly. Defaults to 0.
        data_preprocessor (dict, optional): Batch preprocessor config.
        init_cfg (dict, optional): Weight init config.

    Shapes:
        inputs: {modality: (B, C_m, H, W)}, semseg (B, H/4, W/4); a modality
            that only has a decoder (no adapter) is a target, not an input.
        -> loss: {'loss_<output>': scalar}
        -> tensor: {output: (B, C, H/s, W/s)} plus 'mask_<task>': (B, h, w)
    """

    def __init__(self,
                 backbone: dict,
                 decoders: dict,
                 losses: dict,
                 masking: Optional[dict] = None,
                 predict_seed: Optional[int] = 0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        if getattr(self.backbone, 'prompt', None) is not None:
            raise ValueError('MultiMAE pre-training takes a backbone without '
                             'a prompt plugin')
        masking = masking if masking is not None else dict(
            type='DirichletMasking')
        self.masking = MODELS.build(masking)

        if set(decoders) != set(losses):
            raise KeyError(f'MultiMAE needs one loss per decoder: decoders '
                           f'{sorted(decoders)}, losses {sorted(losses)}')
        modalities = list(self.backbone.input_adapters)
        first = self.backbone.input_adapters[modalities[0]]
        image_size = tuple(s * self.backbone.patch_size
                           for s in first.pos_embed.shape[-2:])
        self.decoders = nn.ModuleDict()
        self.losses = nn.ModuleDict()
        for name, cfg in decoders.items():
            cfg = copy.deepcopy(cfg)
            cfg.setdefault('task', name)
            cfg.update(in_dims=self.backbone.embed_dims,
                       context_modalities=modalities)
            cfg.setdefault('patch_size', self.backbone.patch_size)
            cfg.setdefault('image_size', image_size)
            self.decoders[name] = MODELS.build(cfg)
            self.losses[name] = MODELS.build(losses[name])
        self.predict_seed = predict_seed

    # -------------------------------------------------------------- encoder
    def _encoder_inputs(self, inputs: Dict[str, Tensor]) -> Dict[str, Tensor]:
        targets = {d.task for d in self.decoders.values()}
        unknown = [k for k in inputs
                   if k not in self.backbone.input_adapters
                   and k not in targets]
        if unknown:
            raise KeyError(
                f'MultiMAE got modalities {unknown} that are neither encoder '
                f'inputs {list(self.backbone.input_adapters)} nor decoder '
                f'targets {sorted(targets)}')
        return {k: v for k, v in inputs.items()
                if k in self.backbone.input_adapters}

    def encode_masked(self, inputs: Dict[str, Tensor]) -> dict:
        """Mask the tokens and run the encoder on the visible ones.

        Returns:
            dict: ``tokens`` (B, K + G, D) encoder output, ``layout`` of the
            full unmasked sequence, and the ``MaskingResult`` ``masking``.
        """
        x, layout = self.backbone.tokenize(self._encoder_inputs(inputs))
        B = x.shape[0]
        num_tokens = {m: s.stop - s.start for m, s in layout.modalities.items()}
        drawn: MaskingResult = self.masking(num_tokens, B, x.device)
        patch = x[:, layout.patch_slice]
        index = drawn.ids_keep[..., None].expand(-1, -1, x.shape[-1])
        visible = torch.gather(patch, 1, index)  # B K D
        x = torch.cat([visible, x[:, layout.global_slice]], dim=1)
        # The visible tokens mix modalities per sample; one pseudo-grid
        # keeps the layout honest about how many there are.
        vis_layout = TokenLayout.build({'visible': (1, visible.shape[1])},
                                       layout.num_global)
        outs, _ = self.backbone.forward_tokens(
            x, vis_layout, None, return_indices=[self.backbone.num_layers - 1])
        return dict(tokens=outs[-1], layout=layout, masking=drawn)

    def extract_feat(self, inputs: Dict[str, Tensor]):
        """Unmasked backbone features: tuple of (B, D, h, w) maps."""
        return self.backbone(self._encoder_inputs(inputs))

    # --------------------------------------------------------------- decode
    def _task_masks(self, inputs: Dict[str, Tensor], layout: TokenLayout,
                    drawn: MaskingResult) -> Dict[str, Tensor]:
        """(B, h, w) patch mask per decoded modality; 1 = masked."""
        masks = {}
        grid = next(iter(layout.grids.values()))
        B = drawn.ids_keep.shape[0]
        for dec in self.decoders.values():
            if dec.task in layout.modalities:
                h, w = layout.grids[dec.task]
                masks[dec.task] = drawn.masks[dec.task].reshape(B, h, w)
            else:  # a target the encoder never saw: every patch is masked
                masks[dec.task] = drawn.ids_keep.new_ones(B, *grid)
        return masks

    def reconstruct(self, inputs: Dict[str, Tensor]) -> dict:
        """Predictions of every decoder and the masks they are judged on.

        Returns:
            dict: output name -> (B, C, H/s, W/s) prediction, and
            ``'mask_<task>'`` -> (B, h, w) long patch mask (1 = masked).
        """
        enc = self.encode_masked(inputs)
        drawn = enc['masking']
        out = {
            name: dec(enc['tokens'], enc['layout'], drawn.ids_keep,
                      drawn.ids_restore)
            for name, dec in self.decoders.items()
        }
        masks = self._task_masks(inputs, enc['layout'], drawn)
        out.update({f'mask_{k}': v for k, v in masks.items()})
        return out

    def _target(self, inputs: Dict[str, Tensor], task: str) -> Tensor:
        if task not in inputs:
            raise KeyError(f'MultiMAE has a decoder for "{task}" but the '
                           f'batch has no such modality: {list(inputs)}')
        return inputs[task]

    # ---------------------------------------------------------------- modes
    def loss(self, inputs: Dict[str, Tensor],
             data_samples: Optional[list] = None) -> Dict[str, Tensor]:
        out = self.reconstruct(inputs)
        losses = {}
        for name, dec in self.decoders.items():
            losses[f'loss_{name}'] = self.losses[name](
                out[name], self._target(inputs, dec.task),
                out[f'mask_{dec.task}'])
        return losses

    def predict(self, inputs: Dict[str, Tensor],
                data_samples: Optional[list] = None) -> List[SegDataSample]:
        """Reconstructions for pictures.

        Every data sample gets, per output ``name`` (task ``t``):
        ``pred_<name>`` (C, H/s, W/s) in the target's units (norm-pix outputs
        are mapped back with the target's patch statistics; semseg holds
        labels), ``target_<t>`` and ``mask_<t>`` (1, H/s, W/s), 1 = masked,
        and metainfo ``recon_tasks = {name: t}``.
        """
        if self.predict_seed is None:
            out = self.reconstruct(inputs)
        else:
            device = next(iter(inputs.values())).device
            devices = [device] if device.type == 'cuda' else []
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(self.predict_seed)
                out = self.reconstruct(inputs)

        B = next(iter(inputs.values())).shape[0]
        samples = data_samples if data_samples is not None else [
            SegDataSample() for _ in range(B)
        ]
        tasks = {name: dec.task for name, dec in self.decoders.items()}
        for name, task in tasks.items():
            pred = out[name]
            target = self._target(inputs, task)
            if target.dim() == 3:  # label map B h w -> B 1 h w
                target = target[:, None]
            patch_mask = out[f'mask_{task}']
            scale = pred.shape[-1] // patch_mask.shape[-1]
            mask = patch_mask.repeat_interleave(scale, 1).repeat_interleave(
                scale, 2)[:, None]
            pred = self._to_target_units(name, pred, target, patch_mask)
            for i, sample in enumerate(samples):
                sample.set_field(PixelData(data=pred[i].detach()),
                                 f'pred_{name}')
                sample.set_field(PixelData(data=target[i].detach()),
                                 f'target_{task}')
                sample.set_field(PixelData(data=mask[i]), f'mask_{task}')
        for sample in samples:
            sample.set_metainfo(dict(recon_tasks=tasks))
        return samples

    def _to_target_units(self, name: str, pred: Tensor, target: Tensor,
                         patch_mask: Tensor) -> Tensor:
        loss = self.losses[name]
        if pred.shape[1] != target.shape[1]:  # logits -> labels
            return pred.argmax(1, keepdim=True)
        if getattr(loss, 'norm_pix', False):
            # Undo the per-patch standardisation with the target's patch
            # mean and (unbiased, as in the loss) std: x = z * std + mean.
            B, C, H, W = target.shape
            p = H // patch_mask.shape[-2]
            t = target.to(pred.dtype).reshape(B, C, H // p, p, W // p, p)
            mean = t.mean((1, 3, 5), keepdim=True)
            var = t.var((1, 3, 5), keepdim=True)
            z = pred.reshape(t.shape)
            return (z * (var + 1e-6).sqrt() + mean).reshape(B, C, H, W)
        return pred

    def forward(self,
                inputs: Dict[str, Tensor],
                data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.reconstruct(inputs)
        raise RuntimeError(f'Invalid mode "{mode}"; MultiMAE supports '
                           '"loss", "predict" and "tensor"')
