"""One backbone, several dense task heads (DESIGN.md §2).

One backbone pass serves every head: the backbone runs once with all task
names (so multi-task prompts can insert every task's tokens), then each head
reads its own maps through ``backbone.tokens_to_maps(..., task, readout)``,
where the head's ``TokenReadout`` picks the modalities whose patch tokens it
reads (MultiMAE's ``main_tasks``) and concatenates or averages them.

Any set of named tasks: each head declares its kind (segmentation, parts,
depth, normals, boundary, saliency; ``heads/task_kind.py``) and the fields
it reads and writes, so two tasks of one kind (semseg and human parts) live
side by side. Outputs use mmseg's field names where mmseg has them
(``pred_sem_seg``, ``seg_logits``, ``pred_depth_map``), so mmseg's
``IoUMetric`` and ``DepthMetric`` work unchanged, and ``pred_normals``,
``pred_edge``, ``pred_sal``, ``pred_parts`` for mmmae's metrics.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample
from mmseg.utils import add_prefix
from torch import Tensor

from mmmae.registry import MODELS
from ..heads.task_kind import TaskKind, get_task_kind, logits_field
from ..layers.token_readout import TokenReadout


@MODELS.register_module()
class MultiTaskSegmentor(BaseSegmentor):
    """Multi-task dense prediction: any set of named dense tasks.

    Args:
        backbone (dict): A ``MultiViT``-like backbone config (needs
            ``forward_features`` and ``tokens_to_maps``).
        decode_heads (dict): task name -> head config, any number (a None
            value drops that head, e.g. ``dict(semseg=None)`` in a leaf
            config). Each head's ``kind``, ``gt_field`` and ``pred_field``
            (``MultiMAEDPTHead``, ``ConvNeXtHead``) say what it predicts and reads;
            a head without them (a plain mmseg decode head) is a
            segmentation head on ``gt_sem_seg``. No two heads may write the
            same prediction field.
        task_weights (dict, optional): task -> weight of every loss of that
            task (the multi-task literature's task weights, e.g. normals 10
            and boundaries 50 on NYUD in InvPT). Missing tasks weigh 1.
        input_modalities (Sequence[str], optional): Modalities the model
            reads from ``inputs``; others in the batch are ignored and a
            missing one is an error. None: every batch modality the backbone
            has an adapter for.
        readout (dict, optional): How every head reads the patch tokens: a
            ``TokenReadout`` config. Defaults to
            ``dict(modalities=('rgb',), mode='concat')``, MultiMAE's
            ``main_tasks`` default: with rgb + depth input the heads read
            the rgb tokens only. Without a neck, each head's in_channels
            (``MultiMAEDPTHead``: ``embed_dims``) must equal the readout's channels
            (D x number of modalities for ``'concat'``, D for ``'mean'``).
        task_readouts (dict, optional): task -> ``TokenReadout`` config for
            heads that read differently from ``readout``.
        neck (dict, optional): One neck shared by all heads (e.g.
            ``mmseg.MultiLevelNeck``), applied to the backbone maps. Its
            weights are shared; it runs once per task, since task prompts
            may give each task different maps.
        one_pass (bool): One backbone pass for all tasks (default) or, for
            comparison, one pass per task with ``tasks=task``.
        train_cfg (dict, optional): Handed to the heads' ``loss``.
        test_cfg (dict, optional): ``mode='whole'`` (default) or
            ``mode='slide'`` with ``crop_size=(h, w)`` and ``stride=(h, w)``
            (every modality is cropped at the same place, overlaps are
            averaged); ``flip=True`` also predicts on the horizontally
            flipped inputs (every modality) and averages (logits for
            semseg, metres for depth).
        data_preprocessor (dict, optional): e.g. ``MultiMAEDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.

    Shapes:
        inputs: {modality: (B, C_m, H, W)} -> loss: dict of scalars keyed
        ``decode_{task}.{name}``; predict: data samples with, per task at
        ``ori_shape``, its ``pred_field``: segmentation-like (1, H_o, W_o)
        labels (+ logits (K, H_o, W_o) in ``seg_logits`` /
        ``<name>_logits``), depth (1, H_o, W_o) metres, normals
        (3, H_o, W_o) unit vectors, boundary / saliency (1, H_o, W_o)
        probabilities.
    """

    def __init__(self,
                 backbone: dict,
                 decode_heads: dict,
                 task_weights: Optional[dict] = None,
                 input_modalities: Optional[Sequence[str]] = None,
                 readout: Optional[dict] = None,
                 task_readouts: Optional[dict] = None,
                 neck: Optional[dict] = None,
                 one_pass: bool = True,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        # A None entry drops a head its base config defines.
        decode_heads = {t: c for t, c in (decode_heads or {}).items()
                        if c is not None}
        if not decode_heads:
            raise ValueError('MultiTaskSegmentor needs at least one entry in '
                             'decode_heads, e.g. dict(depth=..., semseg=...)')
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.decode_heads = nn.ModuleDict(
            {task: MODELS.build(cfg) for task, cfg in decode_heads.items()})
        self._init_task_specs()
        self.tasks = tuple(self.decode_heads)
        self.task_weights = self._check_task_weights(task_weights or {})
        self._check_prompt_tasks()

        adapters = getattr(self.backbone, 'input_adapters', None)
        if input_modalities is not None:
            input_modalities = tuple(input_modalities)
            if not input_modalities:
                raise ValueError('input_modalities must not be empty')
            if adapters is not None:
                unknown = [m for m in input_modalities if m not in adapters]
                if unknown:
                    raise KeyError(f'input_modalities {unknown} have no input '
                                   'adapter in the backbone (it has '
                                   f'{list(adapters)})')
        self.input_modalities = input_modalities
        self.readouts = self._build_readouts(readout, task_readouts or {})
        self.one_pass = one_pass
        self.train_cfg = train_cfg
        self.test_cfg = ConfigDict(test_cfg or dict(mode='whole'))
        self._check_test_cfg()
        self.align_corners = False

    def _init_task_specs(self) -> None:
        """Kind, gt field and prediction field(s) of every head."""
        self.task_kinds: Dict[str, str] = {}
        self.gt_fields: Dict[str, str] = {}
        self.pred_fields: Dict[str, str] = {}
        owner: Dict[str, str] = {}
        for task, head in self.decode_heads.items():
            kind = get_task_kind(getattr(head, 'kind', 'segmentation'),
                                 f'decode_heads.{task}')
            self.task_kinds[task] = kind.name
            self.gt_fields[task] = getattr(head, 'gt_field', kind.gt_field)
            pred = getattr(head, 'pred_field', kind.pred_field)
            self.pred_fields[task] = pred
            fields = [pred] + ([logits_field(pred)]
                               if kind.is_classification else [])
            for field in fields:
                if field in owner:
                    raise ValueError(
                        f'decode_heads.{task} and decode_heads.'
                        f'{owner[field]} both write {field}; give one of '
                        'them another pred_field (e.g. pred_field='
                        f'"pred_{task}")')
                owner[field] = task

    def task_kind(self, task: str) -> TaskKind:
        return get_task_kind(self.task_kinds[task])

    def _check_task_weights(self, weights: dict) -> Dict[str, float]:
        unknown = [t for t in weights if t not in self.decode_heads]
        if unknown:
            raise KeyError(f'task_weights {unknown} name no head of '
                           f'decode_heads {list(self.decode_heads)}')
        return {t: float(weights.get(t, 1.0)) for t in self.decode_heads}

    def _check_prompt_tasks(self) -> None:
        """A multi-task prompt must have prompts for every head's task."""
        prompt_tasks = getattr(getattr(self.backbone, 'prompt', None),
                               'tasks', None)
        if prompt_tasks is None:
            return
        missing = [t for t in self.tasks if t not in prompt_tasks]
        if missing:
            raise KeyError(f'decode_heads {missing} have no prompts: '
                           f'backbone.prompt.tasks is {list(prompt_tasks)}; '
                           'list every task of decode_heads there')

    def _build_readouts(self, readout: Optional[dict],
                        task_readouts: dict) -> Dict[str, TokenReadout]:
        """One ``TokenReadout`` per head; checks its modalities and the
        head's input channels."""
        unknown = [t for t in task_readouts if t not in self.decode_heads]
        if unknown:
            raise KeyError(f'task_readouts {unknown} name no head of '
                           f'decode_heads {list(self.decode_heads)}')
        default = dict(modalities=('rgb', ), mode='concat') \
            if readout is None else readout
        adapters = getattr(self.backbone, 'input_adapters', None)
        known = self.input_modalities or (
            tuple(adapters) if adapters is not None else None)
        embed_dims = getattr(self.backbone, 'embed_dims', None)
        readouts = {}
        for task, head in self.decode_heads.items():
            cfg = dict(task_readouts.get(task, default))
            cfg.setdefault('type', 'TokenReadout')
            ro = MODELS.build(cfg)
            if known is not None and ro.modalities is not None:
                absent = [m for m in ro.modalities if m not in known]
                if absent:
                    raise KeyError(
                        f'decode_heads.{task} reads modalities {absent} (its '
                        f'{ro!r}), which the model does not take (it reads '
                        f'{list(known)}); set readout / task_readouts.'
                        f'{task} = dict(modalities=...)')
            if self.neck is None and embed_dims is not None:
                self._check_in_channels(task, head, ro, embed_dims)
            readouts[task] = ro
        return readouts

    @staticmethod
    def _check_in_channels(task: str, head: nn.Module, readout: TokenReadout,
                           embed_dims: int) -> None:
        channels = getattr(head, 'in_channels', None)
        if channels is None:
            return
        want = readout.out_channels(embed_dims)
        got = [channels] if isinstance(channels, int) else list(channels)
        if any(c != want for c in got):
            raise ValueError(
                f'decode_heads.{task}: in_channels {channels}, but its '
                f'{readout!r} gives {want}-channel maps (embed_dims '
                f'{embed_dims}); set the head\'s in_channels (MultiMAEDPTHead: '
                f'embed_dims) to {want}')

    def _check_test_cfg(self) -> None:
        mode = self.test_cfg.get('mode', 'whole')
        if mode not in ('whole', 'slide'):
            raise ValueError(f'test_cfg.mode must be "whole" or "slide", got '
                             f'"{mode}"')
        if mode == 'slide':
            for key in ('crop_size', 'stride'):
                if key not in self.test_cfg:
                    raise KeyError(f'test_cfg.mode="slide" needs test_cfg.'
                                   f'{key}=(h, w)')

    # ------------------------------------------------------------ inputs
    def _select_inputs(self, inputs: Dict[str, Tensor]) -> Dict[str, Tensor]:
        if not isinstance(inputs, dict):
            raise TypeError('MultiTaskSegmentor expects inputs as a dict '
                            f'{{modality: tensor}}, got {type(inputs).__name__}')
        names = self.input_modalities
        if names is None:
            adapters = getattr(self.backbone, 'input_adapters', inputs)
            names = tuple(m for m in inputs if m in adapters)
            if not names:
                raise KeyError(f'no batch modality {list(inputs)} has an '
                               'input adapter in the backbone')
        missing = [m for m in names if m not in inputs]
        if missing:
            raise KeyError(f'the model reads input modalities {list(names)}, '
                           f'but the batch lacks {missing} (it has '
                           f'{list(inputs)})')
        return {m: inputs[m] for m in names}

    @staticmethod
    def _ref_size(inputs: Dict[str, Tensor]) -> Tuple[int, int]:
        """(H, W) of the first image-like (B, C, H, W) modality."""
        for x in inputs.values():
            if x.dim() == 4:
                return tuple(x.shape[-2:])
        return tuple(next(iter(inputs.values())).shape[-2:])

    # ---------------------------------------------------------- features
    def _maps(self, feats: dict, task: str) -> Tuple[Tensor, ...]:
        maps = self.backbone.tokens_to_maps(feats['tokens'], feats['layout'],
                                            task, self.readouts[task])
        if self.neck is not None:
            maps = tuple(self.neck(maps))
        return maps

    def extract_task_feats(self, inputs: Dict[str, Tensor],
                           tasks: Sequence[str]
                           ) -> Tuple[Dict[str, Tuple[Tensor, ...]], dict]:
        """Backbone (and neck) maps for each task, and the prompt losses.

        Returns:
            tuple: ``{task: tuple of (B, D, h, w)}`` and a dict of auxiliary
            losses (keys prefixed ``{task}.`` when ``one_pass=False``).
        """
        inputs = self._select_inputs(inputs)
        if self.one_pass:
            feats = self.backbone.forward_features(inputs, tasks=tuple(tasks))
            maps = {t: self._maps(feats, t) for t in tasks}
            return maps, dict(feats.get('aux_losses', {}))
        maps, aux = {}, {}
        for t in tasks:
            feats = self.backbone.forward_features(inputs, tasks=t)
            maps[t] = self._maps(feats, t)
            aux.update(add_prefix(feats.get('aux_losses', {}), t))
        return maps, aux

    def extract_feat(self, inputs: Dict[str, Tensor],
                     task: Optional[str] = None) -> Tuple[Tensor, ...]:
        """The maps one task's head sees (first task by default)."""
        task = self.tasks[0] if task is None else task
        return self.extract_task_feats(inputs, (task, ))[0][task]

    # -------------------------------------------------------------- train
    def _check_gt(self, data_samples: list) -> None:
        for task, field in self.gt_fields.items():
            for i, sample in enumerate(data_samples):
                if field not in sample:
                    has = sorted(k for k in sample.keys()
                                 if k.startswith('gt_'))
                    tasks = sample.metainfo.get('tasks')
                    provides = '' if tasks is None else \
                        f', its dataset provides tasks {list(tasks)}'
                    raise KeyError(
                        f'task "{task}" (model.decode_heads.{task}) needs '
                        f'{field} in every data sample; sample {i} '
                        f'({sample.metainfo.get("img_path")}) has none (it '
                        f'has {has}{provides}): add the task to the '
                        'dataset\'s targets or drop the head')

    def loss(self, inputs: Dict[str, Tensor], data_samples: list) -> dict:
        """Every head's losses from one backbone pass, plus prompt losses.

        Each task's ``loss*`` keys are scaled by its ``task_weights``."""
        self._check_gt(data_samples)
        maps, losses = self.extract_task_feats(inputs, self.tasks)
        for task, head in self.decode_heads.items():
            task_losses = head.loss(maps[task], data_samples, self.train_cfg)
            weight = self.task_weights[task]
            if weight != 1.0:
                task_losses = {
                    k: v * weight if 'loss' in k else v
                    for k, v in task_losses.items()
                }
            losses.update(add_prefix(task_losses, f'decode_{task}'))
        return losses

    def _forward(self, inputs: Dict[str, Tensor],
                 data_samples: Optional[list] = None) -> Dict[str, Tensor]:
        """Raw head outputs per task, without any post-processing."""
        maps, _ = self.extract_task_feats(inputs, self.tasks)
        return {t: h.forward(maps[t]) for t, h in self.decode_heads.items()}

    # ------------------------------------------------------------ predict
    def encode_decode(self, inputs: Dict[str, Tensor],
                      batch_img_metas: Optional[List[dict]] = None
                      ) -> Dict[str, Tensor]:
        """Predictions per task at the size of ``inputs`` (one pass).

        Returns:
            dict: task -> (B, C_task, H, W) (semseg logits / depth metres).
        """
        maps, _ = self.extract_task_feats(inputs, self.tasks)
        size = self._ref_size(inputs)
        batch = next(iter(inputs.values())).shape[0]
        # Heads resize to ``pad_shape``: the size of this (possibly cropped)
        # input, not the image's.
        metas = [dict(img_shape=size, pad_shape=size)] * batch
        return {
            t: h.predict(maps[t], metas, self.test_cfg)
            for t, h in self.decode_heads.items()
        }

    def _flip(self, task: str, x: Tensor, dim: int = -1) -> Tensor:
        """Flip a (B, C, H, W) prediction along ``dim`` (-1 horizontal, -2
        vertical); normals also negate the component the flip mirrors."""
        x = x.flip(dim)
        channels = self.task_kind(task).flip_channels
        if channels is not None:
            sign = x.new_ones(x.shape[1])
            sign[channels[0] if dim == -1 else channels[1]] = -1
            x = x * sign.view(1, -1, 1, 1)
        return x

    def _renormalise(self, preds: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """Averaged or resized unit normals are shorter than 1: rescale."""
        return {
            t: F.normalize(p, p=2, dim=1)
            if self.task_kind(t).activation == 'l2norm' else p
            for t, p in preds.items()
        }

    def _encode_decode_tta(self, inputs: Dict[str, Tensor]
                           ) -> Dict[str, Tensor]:
        out = self.encode_decode(inputs)
        if not self.test_cfg.get('flip', False):
            return out
        flipped = self.encode_decode(
            {m: x.flip(-1) for m, x in inputs.items()})
        return self._renormalise(
            {t: (out[t] + self._flip(t, flipped[t])) / 2 for t in out})

    def slide_inference(self, inputs: Dict[str, Tensor]
                        ) -> Dict[str, Tensor]:
        """Sliding-window prediction over every modality at once."""
        h_stride, w_stride = self.test_cfg.stride
        h_crop, w_crop = self.test_cfg.crop_size
        H, W = self._ref_size(inputs)
        batch = next(iter(inputs.values())).shape[0]
        h_grids = max(H - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(W - w_crop + w_stride - 1, 0) // w_stride + 1
        any_input = next(iter(inputs.values()))
        count = any_input.new_zeros((batch, 1, H, W), dtype=torch.float)
        preds: Dict[str, Tensor] = {}
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y2 = min(h_idx * h_stride + h_crop, H)
                x2 = min(w_idx * w_stride + w_crop, W)
                y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
                crops = {}
                for m, x in inputs.items():
                    # Modalities at another resolution (e.g. quarter-res
                    # labels) are cropped at the same place, scaled.
                    h_m, w_m = x.shape[-2:]
                    crops[m] = x[..., y1 * h_m // H:y2 * h_m // H,
                                 x1 * w_m // W:x2 * w_m // W]
                out = self._encode_decode_tta(crops)
                for t, o in out.items():
                    if t not in preds:
                        preds[t] = o.new_zeros((batch, o.shape[1], H, W))
                    preds[t] += F.pad(o, (x1, W - x2, y1, H - y2))
                count[..., y1:y2, x1:x2] += 1
        return self._renormalise(
            {t: p / count.to(p) for t, p in preds.items()})

    def inference(self, inputs: Dict[str, Tensor],
                  batch_img_metas: Optional[List[dict]] = None
                  ) -> Dict[str, Tensor]:
        """'whole' or 'slide' inference (with flip TTA if asked)."""
        if self.test_cfg.get('mode', 'whole') == 'slide':
            return self.slide_inference(inputs)
        return self._encode_decode_tta(inputs)

    def predict(self, inputs: Dict[str, Tensor],
                data_samples: Optional[list] = None) -> List[SegDataSample]:
        """Predictions in data samples, resized to each ``ori_shape``."""
        inputs = self._select_inputs(inputs)
        metas = None if data_samples is None else \
            [s.metainfo for s in data_samples]
        preds = self.inference(inputs, metas)
        return self.postprocess_result(preds, data_samples)

    def _restore(self, x: Tensor, meta: dict, task: str) -> Tensor:
        """Undo the batch padding and a test-pipeline flip; resize to the
        original image (mmseg's ``postprocess_result`` rules)."""
        H, W = x.shape[-2:]
        pad = meta.get('img_padding_size', meta.get('padding_size'))
        if pad is not None:
            left, right, top, bottom = pad
            x = x[..., top:H - bottom, left:W - right]
        elif 'img_shape' in meta:
            h, w = meta['img_shape'][:2]
            x = x[..., :h, :w]
        if meta.get('flip', False):
            direction = meta.get('flip_direction', 'horizontal')
            if direction not in ('horizontal', 'vertical'):
                raise ValueError(f'flip_direction "{direction}" of '
                                 f'{meta.get("img_path")} is not supported')
            x = self._flip(task, x, -1 if direction == 'horizontal' else -2)
        if 'ori_shape' in meta:
            x = resize(x, size=tuple(meta['ori_shape'][:2]), mode='bilinear',
                       align_corners=self.align_corners, warning=False)
        return x

    def postprocess_result(self, preds: Dict[str, Tensor],
                           data_samples: Optional[list] = None
                           ) -> List[SegDataSample]:
        """Put each task's prediction into its head's ``pred_field``."""
        batch = next(iter(preds.values())).shape[0]
        only_prediction = data_samples is None
        if only_prediction:
            data_samples = [SegDataSample() for _ in range(batch)]
        for i in range(batch):
            meta = data_samples[i].metainfo
            for task, pred in preds.items():
                x = pred[i:i + 1]
                if not only_prediction:
                    x = self._renormalise({task: self._restore(x, meta,
                                                               task)})[task]
                data_samples[i].set_data(self._fields(task, x[0]))
        return data_samples

    def _fields(self, task: str, x: Tensor) -> Dict[str, PixelData]:
        """One task's prediction (C, H, W) -> its data-sample fields."""
        pred = self.pred_fields[task]
        if not self.task_kind(task).is_classification:
            return {pred: PixelData(data=x)}
        if x.shape[0] > 1:
            label = x.argmax(dim=0, keepdim=True)
        else:
            x = x.sigmoid()
            label = (x > self.decode_heads[task].threshold).long()
        return {logits_field(pred): PixelData(data=x),
                pred: PixelData(data=label)}

    # ------------------------------------------------------- optimisation
    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer id for mmpretrain's layer-wise lr decay: backbone parameters
        as the backbone says, heads and neck in the last layer."""
        sub = prefix + 'backbone.'
        if param_name.startswith(sub) and hasattr(self.backbone,
                                                  'get_layer_depth'):
            return self.backbone.get_layer_depth(param_name, sub)
        num_layers = getattr(self.backbone, 'num_layers', 0) + 2
        return num_layers - 1, num_layers
