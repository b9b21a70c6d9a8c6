"""Multi-task image classification with a frozen CLIP and prompt learners.

One task per domain (Office-Home, MiniDomainNet). For an image x of task t
and the classes c of t:

    logits_c = s * cos(f_img(x; P_vis(t)), f_txt("[P_txt(t)] <name_c>."))

where s is CLIP's logit scale (exp of the stored log scale, 100 for
OpenAI weights) and P(t) the task's prompts (group-shared + task-specific).
The loss is the sum over the tasks in the batch of each task's mean
cross-entropy. Predictions are mmpretrain ``DataSample``s with
``pred_score`` / ``pred_label`` over the task's classes and ``task`` kept
in the metainfo, so mmpretrain's ``Accuracy`` (through
``MultiTaskAccuracy``) scores them.
"""
import math
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import Tensor

from mmmae.registry import MODELS, TASK_UTILS
from ..prompts.clip import BaseCLIPPrompt, CLIPPromptContext

# OpenAI CLIP's pixel statistics, on the 0-255 scale mmpretrain's
# ClsDataPreprocessor works in.
CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)
CLIP_STD = (68.5005327, 66.6321579, 70.32316305)

# The word whose embeddings learned text prompts overwrite (CoOp writes
# "X X X ... X <class>." and replaces the X embeddings). With a prompt's
# ``ctx_init`` the phrase itself is written instead (CoOp / MaPLe).
PLACEHOLDER = 'X'


def _default_preprocessor() -> dict:
    return dict(type='mmpretrain.ClsDataPreprocessor', mean=list(CLIP_MEAN),
                std=list(CLIP_STD), to_rgb=True)


@MODELS.register_module()
class MultiTaskCLIPClassifier(BaseModel):
    """CLIP + a prompt learner, one classification task per domain.

    Args:
        tasks (Sequence[str]): Task names, as in the data samples' ``task``.
        class_names (Sequence[str] | dict): One class list for every task,
            or task -> class list. ``_`` becomes a space in the text.
        vision_encoder (dict): ``CLIPVisionTransformer`` config.
        text_encoder (dict): ``CLIPTextTransformer`` config.
        prompt (dict, optional): A :class:`BaseCLIPPrompt` config; the
            classifier fills in the tasks and the tower sizes. None:
            zero-shot CLIP (or full fine-tuning with ``frozen=False``).
            With the prompt's ``ctx_init`` the texts read "<phrase>
            <class>." and the context starts from the phrase's word
            embeddings, taken again after ``init_weights`` loads CLIP.
        tokenizer (dict, optional): Defaults to ``CLIPTokenizer`` with the
            text tower's context length.
        template (str): Text of each class when the prompt learns no text
            context. Defaults to ``'a photo of a {}.'``.
        logit_scale (float): Initial scale s (a checkpoint overrides it).
        frozen (bool): Freeze both towers and the logit scale; they also
            stay in eval mode. Defaults to True.
        data_preprocessor (dict, optional): Defaults to mmpretrain's
            ``ClsDataPreprocessor`` with CLIP's mean and std.
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained',
            checkpoint=...)`` with a file from
            ``tools/model_converters/clip2mmmae.py``.

    Shapes:
        inputs: (B, 3, H, W) -> per image (C_t,) logits over its task's
        classes; text features per task (C_t, E).
    """

    def __init__(self,
                 tasks: Sequence[str],
                 class_names: Union[Sequence[str], Dict[str, Sequence[str]]],
                 vision_encoder: dict,
                 text_encoder: dict,
                 prompt: Optional[dict] = None,
                 tokenizer: Optional[dict] = None,
                 template: str = 'a photo of a {}.',
                 logit_scale: float = 100.,
                 frozen: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(
            data_preprocessor=data_preprocessor or _default_preprocessor(),
            init_cfg=init_cfg)
        if not tasks:
            raise ValueError('MultiTaskCLIPClassifier needs tasks')
        self.tasks = tuple(tasks)
        self.class_names = self._per_task_classes(class_names)
        self.vision_encoder = MODELS.build(vision_encoder)
        self.text_encoder = MODELS.build(text_encoder)
        if self.vision_encoder.out_dims != self.text_encoder.out_dims:
            raise ValueError(
                f'image features have {self.vision_encoder.out_dims} dims '
                f'but text features {self.text_encoder.out_dims}')
        self.logit_scale = nn.Parameter(torch.tensor(math.log(logit_scale)))

        self.prompt: Optional[BaseCLIPPrompt] = None
        if prompt is not None:
            prompt = dict(prompt)
            prompt.update(
                tasks=self.tasks,
                embed_dims=self.vision_encoder.embed_dims,
                num_layers=self.vision_encoder.num_layers,
                patch_size=self.vision_encoder.patch_size,
                text_dims=self.text_encoder.embed_dims,
                num_text_layers=self.text_encoder.num_layers)
            self.prompt = MODELS.build(prompt)
            if not isinstance(self.prompt, BaseCLIPPrompt):
                raise TypeError(f'prompt {type(self.prompt).__name__} must '
                                'subclass BaseCLIPPrompt')

        tokenizer = tokenizer or dict(
            type='CLIPTokenizer',
            context_length=self.text_encoder.context_length)
        self.tokenizer = TASK_UTILS.build(tokenizer)
        self.template = template
        self._build_token_ids()
        self._init_text_context()

        self._text_cache: dict = {}
        self.frozen = frozen
        if frozen:
            self._freeze()

    # ----------------------------------------------------------------- setup
    def _per_task_classes(self, class_names) -> Dict[str, Tuple[str, ...]]:
        if isinstance(class_names, dict):
            missing = [t for t in self.tasks if t not in class_names]
            if missing:
                raise KeyError(f'class_names has no classes for tasks '
                               f'{missing}')
            return {t: tuple(class_names[t]) for t in self.tasks}
        if not class_names:
            raise ValueError('class_names is empty')
        return {t: tuple(class_names) for t in self.tasks}

    def _ctx_init(self) -> Optional[str]:
        return getattr(self.prompt, 'ctx_init', None)

    def _text_prefix(self) -> Tuple[str, List[int]]:
        """Text before each class name when the prompt learns a text
        context, and the token ids the context must cover."""
        n = self.prompt.num_text_ctx
        phrase = self._ctx_init()
        if phrase is None:
            return ' '.join([PLACEHOLDER] * n), \
                self.tokenizer.encode(PLACEHOLDER) * n
        ids = self.tokenizer.encode(phrase)
        if len(ids) < n:
            raise ValueError(
                f'prompt ctx_init "{phrase}" has {len(ids)} tokens, fewer '
                f'than the {n} text context tokens per task of '
                f'{type(self.prompt).__name__}; use a longer phrase, fewer '
                'context tokens or ctx_init=None')
        return phrase, ids

    def _class_texts(self, task: str) -> List[str]:
        n = self.prompt.num_text_ctx if self.prompt is not None else 0
        names = [c.replace('_', ' ') for c in self.class_names[task]]
        if n:
            prefix = self._text_prefix()[0]
            return [f'{prefix} {name}.' for name in names]
        return [self.template.format(name) for name in names]

    def _build_token_ids(self) -> None:
        n = self.prompt.num_text_ctx if self.prompt is not None else 0
        expected = torch.tensor(self._text_prefix()[1][:n]) if n else None
        for i, task in enumerate(self.tasks):
            ids = self.tokenizer(self._class_texts(task))
            if n and not bool((ids[:, 1:1 + n] == expected).all()):
                raise RuntimeError('the text context tokens did not land at '
                                   f'positions 1..{n} for task "{task}"')
            # Rebuilt from the class names, so kept out of checkpoints.
            self.register_buffer(f'token_ids_{i}', ids, persistent=False)

    def _init_text_context(self) -> None:
        """Start the prompt's text context from ``ctx_init``'s word
        embeddings in the CURRENT text tower (call again after loading
        CLIP weights)."""
        phrase = self._ctx_init()
        if phrase is None:
            return
        ids = torch.tensor(self.tokenizer.encode(phrase),
                           device=self.text_encoder.token_embed.weight.device)
        with torch.no_grad():
            embeds = self.text_encoder.token_embed(ids)  # T D
        self.prompt.init_text_context(embeds)

    def init_weights(self) -> None:
        """mmengine init (children, then ``Pretrained`` CLIP weights), then
        ``ctx_init`` from the loaded word embeddings."""
        first = not self._is_init
        super().init_weights()
        if first:
            self._init_text_context()

    def token_ids(self, task: str) -> Tensor:
        return getattr(self, f'token_ids_{self.tasks.index(task)}')

    # ---------------------------------------------------------------- freeze
    def _freeze(self) -> None:
        for name, param in self.named_parameters():
            param.requires_grad = name.startswith('prompt.')
        self.vision_encoder.eval()
        self.text_encoder.eval()

    def train(self, mode: bool = True) -> 'MultiTaskCLIPClassifier':
        super().train(mode)
        self._text_cache = {}
        if self.frozen:
            self._freeze()
        return self

    # -------------------------------------------------------------- features
    def sample_tasks(self, data_samples: Optional[list],
                     batch: int) -> Tuple[str, ...]:
        """The task of every image, from the data samples' metainfo."""
        if data_samples is None:
            if len(self.tasks) != 1:
                raise ValueError('data samples with a "task" are needed '
                                 f'for tasks {list(self.tasks)}')
            return (self.tasks[0], ) * batch
        tasks = tuple(ds.metainfo.get('task') for ds in data_samples)
        unknown = sorted({str(t) for t in tasks if t not in self.tasks})
        if unknown:
            raise ValueError(
                f'data samples carry tasks {unknown}; the model has tasks '
                f'{list(self.tasks)} (metainfo "task")')
        return tasks

    def encode_image(self, images: Tensor,
                     sample_tasks: Sequence[str]) -> Tensor:
        """L2-normalised image features (B, E), with each task's prompts."""
        ctx = CLIPPromptContext(
            batch_size=images.shape[0], modalities=('rgb', ),
            tasks=tuple(dict.fromkeys(sample_tasks)),
            sample_tasks=tuple(sample_tasks))
        feats = self.vision_encoder(images, self.prompt, ctx)
        return F.normalize(feats, dim=-1)

    def text_is_constant(self) -> bool:
        """True when no trainable tensor reaches the text features: frozen
        towers and a prompt without text tokens (VPT) or no prompt."""
        return self.frozen and (self.prompt is None
                                or not self.prompt.text_length)

    def encode_text(self, task: str) -> Tensor:
        """L2-normalised text features (C_t, E) of a task's classes.

        They are 65 classes x 77 tokens per task through the text tower, so
        they are reused where that is exact:

        - when :meth:`text_is_constant` (VPT, zero-shot), once per task and
          device, in training too;
        - otherwise without gradients (evaluation), until a trainable tensor
          changes: the key holds every trainable parameter's version
          counter, which optimizer steps and ``load_state_dict`` bump.
        """
        device = self.logit_scale.device
        if self.text_is_constant():
            key = (task, 'constant', device)
            if key not in self._text_cache:
                with torch.no_grad():
                    self._text_cache[key] = self._encode_text(task)
            return self._text_cache[key]
        if torch.is_grad_enabled() or self.training:
            return self._encode_text(task)
        key = (task, tuple((id(p), p._version) for p in self.parameters()
                           if p.requires_grad), device)
        if key not in self._text_cache:
            self._text_cache = {k: v for k, v in self._text_cache.items()
                                if k[1] == key[1]}
            self._text_cache[key] = self._encode_text(task)
        return self._text_cache[key]

    def _encode_text(self, task: str) -> Tensor:
        feats = self.text_encoder(self.token_ids(task), self.prompt, task)
        return F.normalize(feats, dim=-1)

    def task_logits(self, inputs: Tensor, data_samples: Optional[list]
                    ) -> 'OrderedDict[str, Tuple[Tensor, Tensor]]':
        """task -> (indices of its images in the batch, (n_t, C_t) logits)."""
        tasks = self.sample_tasks(data_samples, inputs.shape[0])
        img = self.encode_image(inputs, tasks)
        scale = self.logit_scale.exp()
        out = OrderedDict()
        for task in self.tasks:
            idx = [i for i, t in enumerate(tasks) if t == task]
            if not idx:
                continue
            idx = torch.tensor(idx, device=inputs.device)
            out[task] = (idx, scale * img[idx] @ self.encode_text(task).t())
        return out

    def extract_feat(self, inputs: Tensor,
                     data_samples: Optional[list] = None) -> Tensor:
        tasks = self.sample_tasks(data_samples, inputs.shape[0])
        return self.encode_image(inputs, tasks)

    def fake_batch(self, batch_size: int, input_size, device) -> dict:
        """A preprocessed random batch cycling through the tasks, for
        ``tools/analysis_tools/benchmark.py``."""
        from mmpretrain.structures import DataSample
        H, W = input_size
        samples = []
        for i in range(batch_size):
            task = self.tasks[i % len(self.tasks)]
            s = DataSample(metainfo=dict(task=task, img_shape=(H, W),
                                         ori_shape=(H, W)))
            samples.append(s.set_gt_label(i % len(self.class_names[task])))
        inputs = torch.randn(batch_size, 3, H, W, device=device)
        return dict(inputs=inputs, data_samples=samples)

    # --------------------------------------------------------------- forward
    def forward(self, inputs: Tensor, data_samples: Optional[list] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            logits: List[Optional[Tensor]] = [None] * inputs.shape[0]
            for idx, lg in self.task_logits(inputs, data_samples).values():
                for i, row in zip(idx.tolist(), lg):
                    logits[i] = row
            return logits
        raise RuntimeError(f'Invalid mode "{mode}"; use loss, predict or '
                           'tensor')

    def task_losses(self, inputs: Tensor,
                    data_samples: list) -> 'OrderedDict[str, Tensor]':
        """task -> mean cross-entropy over that task's images."""
        losses = OrderedDict()
        for task, (idx, logits) in self.task_logits(inputs,
                                                    data_samples).items():
            target = torch.stack([
                data_samples[i].gt_label.reshape(-1)[0] for i in idx.tolist()
            ]).to(logits.device)
            losses[task] = F.cross_entropy(logits, target)
        return losses

    def loss(self, inputs: Tensor, data_samples: list) -> dict:
        per_task = self.task_losses(inputs, data_samples)
        out = dict(loss_cls=sum(per_task.values()))
        # Logged only: keys without "loss" are not backpropagated.
        out.update({f'ce_{t}': v.detach() for t, v in per_task.items()})
        return out

    def predict(self, inputs: Tensor,
                data_samples: Optional[list] = None) -> list:
        from mmpretrain.structures import DataSample
        if data_samples is None:
            data_samples = [DataSample(metainfo=dict(task=self.tasks[0]))
                            for _ in range(inputs.shape[0])]
        for idx, logits in self.task_logits(inputs, data_samples).values():
            scores = logits.softmax(dim=-1).detach()
            for i, score in zip(idx.tolist(), scores):
                data_samples[i].set_pred_score(score)
                data_samples[i].set_pred_label(score.argmax().item())
        return data_samples
