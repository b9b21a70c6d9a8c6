"""What mmmae's Inferencers share: the model, the inputs, the output files.

mmengine's ``BaseInferencer`` flow (preprocess -> forward -> visualize ->
postprocess) with three differences:

- the model comes from :func:`mmmae.apis.init_model` (mmmae's safe and
  delta-aware checkpoint loading), or is an already built model with a
  ``cfg`` attribute;
- an input is an image path, an (H, W, 3) RGB array, a folder of images, or
  a dict ``{modality: path | array | folder}``; folders of a dict are
  paired by file name (``rgb/0001.png`` with ``depth/0001.png``);
- ``__call__(..., out_dir=...)`` names every file it will write first and
  refuses to start when one of them is an input (see
  :mod:`mmmae.utils.output_guard`); files are written atomically.
"""
import os
import os.path as osp
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch.nn as nn
from mmcv.transforms import Compose
from mmengine.infer import BaseInferencer
from mmengine.registry import init_default_scope

from mmmae.registry import TRANSFORMS
from mmmae.utils.atomic_io import atomic_imwrite, atomic_open
from mmmae.utils.output_guard import check_outputs_spare_inputs
from ..inference import (_load_item, _split_pipeline, _test_pipeline,
                         init_model)

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
InputType = Union[str, Path, np.ndarray, dict]


def list_images(folder: str) -> List[str]:
    """Image files of ``folder``, sorted by name."""
    names = sorted(f for f in os.listdir(folder)
                   if f.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        raise FileNotFoundError(
            f'no image file ({", ".join(IMAGE_EXTENSIONS)}) in the folder '
            f'{folder}')
    return [osp.join(folder, f) for f in names]


def _pair_folders(item: dict) -> List[dict]:
    """{modality: folder} -> one dict per file of the first folder."""
    first = next(iter(item))
    out = []
    for path in list_images(str(item[first])):
        stem = osp.splitext(osp.basename(path))[0]
        sample = {first: path}
        for m, folder in list(item.items())[1:]:
            match = [p for p in list_images(str(folder))
                     if osp.splitext(osp.basename(p))[0] == stem]
            if not match:
                raise FileNotFoundError(
                    f'{m} folder {folder} has no file named {stem}.* to go '
                    f'with {path}')
            sample[m] = match[0]
        out.append(sample)
    return out


class MMMAEInferencer(BaseInferencer):
    """Base of mmmae's Inferencers (not registered itself).

    Args:
        model (str | Config | nn.Module): A config file or object, or a
            built model carrying ``cfg`` (e.g. from ``init_model``).
        weights (str, optional): Checkpoint; ignored for a built model.
            None keeps random weights (with a warning).
        device (str): Device. Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.
        show_progress (bool): Show a progress bar. Defaults to False.
    """

    def __init__(self,
                 model,
                 weights: Optional[str] = None,
                 device: str = 'cpu',
                 cfg_options: Optional[dict] = None,
                 show_progress: bool = False) -> None:
        # Not BaseInferencer.__init__: it loads weights with mmengine's
        # loader, which knows neither delta checkpoints nor mmmae's
        # allowlist; init_model does.
        if isinstance(model, nn.Module):
            if not hasattr(model, 'cfg'):
                raise AttributeError(
                    f'{type(self).__name__} needs model.cfg on a built '
                    'model; build it with mmmae.apis.init_model')
            self.model = model.to(device).eval()
        else:
            self.model = init_model(model, weights, device=device,
                                    cfg_options=cfg_options)
        self.cfg = self.model.cfg
        self.scope = 'mmmae'
        self.show_progress = show_progress
        self.visualizer = None
        self._check_model(self.model)
        self.pipeline = self._init_pipeline(self.cfg)
        self.collate_fn = self._init_collate(self.cfg)

    def _check_model(self, model: nn.Module) -> None:
        """Raise if ``model`` is not of this Inferencer's family."""

    def _multimodal_pipeline(self, cfg) -> Callable:
        """``input -> packed sample`` from the config's test pipeline:
        files are decoded by its loader, arrays taken as they are
        (:func:`mmmae.apis.inference._load_item`), for the modalities
        :meth:`_modalities_of` names."""
        loader_cfg, rest = _split_pipeline(_test_pipeline(cfg))
        init_default_scope(cfg.get('default_scope', 'mmmae'))
        loader = TRANSFORMS.build(loader_cfg)
        transforms = Compose([TRANSFORMS.build(t) for t in rest])

        def pipeline(item):
            item = item if isinstance(item, dict) else dict(rgb=item)
            return transforms(_load_item(item, loader,
                                         self._modalities_of(item)))

        return pipeline

    def _modalities_of(self, item: dict) -> Tuple[str, ...]:
        """The modalities of ``item`` the model reads."""
        return tuple(item)

    # ------------------------------------------------------------- inputs
    def _inputs_to_list(self, inputs) -> List[InputType]:
        if isinstance(inputs, (str, Path)) and osp.isdir(str(inputs)):
            return list_images(str(inputs))
        if isinstance(inputs, dict) and inputs and all(
                isinstance(v, (str, Path)) and osp.isdir(str(v))
                for v in inputs.values()):
            return _pair_folders(inputs)
        if not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        items = []
        for item in inputs:
            if isinstance(item, (str, Path)) and osp.isdir(str(item)):
                items += list_images(str(item))
            else:
                items.append(item)
        if not items:
            raise ValueError(f'{type(self).__name__} got no input')
        return items

    @staticmethod
    def input_files(item: InputType) -> Dict[str, str]:
        """modality -> file path of one input (arrays have none)."""
        item = item if isinstance(item, dict) else dict(rgb=item)
        return {m: str(v) for m, v in item.items()
                if isinstance(v, (str, Path))}

    def output_names(self, items: Sequence[InputType]) -> List[str]:
        """A file stem per input: its (rgb, else first) file's name, or the
        input's index for arrays; repeated names get the index appended."""
        names = []
        for i, item in enumerate(items):
            files = self.input_files(item)
            path = files.get('rgb') or next(iter(files.values()), None)
            names.append(osp.splitext(osp.basename(path))[0] if path
                         else f'{i:06d}')
        seen = {n for n in names if names.count(n) > 1}
        return [f'{n}_{i}' if n in seen else n for i, n in enumerate(names)]

    def output_files(self, name: str, out_dir: str, **kwargs) -> List[str]:
        """Every file ``__call__`` may write for the input called ``name``
        (``kwargs``: the call's postprocess options)."""
        return [osp.join(out_dir, f'{name}.png')]

    def _guard(self, items, names, out_dir: str, **kwargs) -> None:
        inputs = {}
        for i, item in enumerate(items):
            for m, path in self.input_files(item).items():
                inputs[f'{m} of input {i}'] = path
        outputs = [f for n in names
                   for f in self.output_files(n, out_dir, **kwargs)]
        check_outputs_spare_inputs(outputs, inputs)

    # --------------------------------------------------------------- call
    def __call__(self,
                 inputs,
                 batch_size: int = 1,
                 out_dir: Optional[str] = None,
                 show: bool = False,
                 return_datasamples: bool = False,
                 **kwargs) -> dict:
        """Run the model on ``inputs``.

        Args:
            inputs: A path, array, folder, dict of them, or a list.
            batch_size (int): Inputs per forward pass. Defaults to 1.
            out_dir (str, optional): Where to write the pictures
                (``<name>.png``) and the raw outputs; nothing is written
                when None.
            show (bool): Show the pictures in a window.
            return_datasamples (bool): Return the data samples instead of
                plain arrays.
            **kwargs: The subclass's ``preprocess_kwargs`` /
                ``forward_kwargs`` / ``visualize_kwargs`` /
                ``postprocess_kwargs``.

        Returns:
            dict: ``predictions`` (one entry per input, see the subclass)
            and ``visualization`` (the pictures, (H, W, 3) RGB uint8).
        """
        if batch_size < 1:
            raise ValueError(f'batch_size must be at least 1, got '
                             f'{batch_size}')
        pre, fwd, vis, post = self._dispatch_kwargs(**kwargs)
        items = self._inputs_to_list(inputs)
        names = self.output_names(items)
        if out_dir is not None:  # before any work
            self._guard(items, names, out_dir, **post)
        preds = []
        for batch in self.preprocess(items, batch_size=batch_size, **pre):
            preds.extend(self.forward(batch, **fwd))
        pictures = self.visualize(items, preds, names=names, show=show,
                                  out_dir=out_dir, **vis)
        return self.postprocess(preds, pictures, return_datasamples,
                                names=names, out_dir=out_dir, **post)

    def _show_and_save(self, picture: np.ndarray, name: str, show: bool,
                       out_dir: Optional[str]) -> None:
        if show:
            import mmcv
            mmcv.imshow(picture[..., ::-1], win_name=name)
        if out_dir is not None:
            atomic_imwrite(osp.join(out_dir, f'{name}.png'),
                           picture[..., ::-1])

    @staticmethod
    def _save_npy(path: str, array: np.ndarray) -> None:
        with atomic_open(path, 'wb') as f:
            np.save(f, array)
