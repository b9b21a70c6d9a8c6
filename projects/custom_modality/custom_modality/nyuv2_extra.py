"""NYUv2 folders plus modality folders that mmmae's dataset does not know."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmmae.datasets import NYUv2MultiTaskDataset
from mmmae.registry import DATASETS


@DATASETS.register_module()
class NYUv2ExtraModalitiesDataset(NYUv2MultiTaskDataset):
    """``NYUv2MultiTaskDataset`` with extra input folders, e.g. infrared.

    Layout: the NYUv2 one, plus ``data_root/{split}/<name>/<stem><suffix>``
    for every extra modality (``ir/<stem>.tiff``). Each sample gets
    ``<name>_path``, and ``modalities`` lists the inputs in the given order;
    ``LoadMultiModalFromFile(modality_kinds=dict(ir='infrared'))`` then
    loads them by their kind.

    Args:
        modalities (Sequence[str]): Inputs: any of rgb, depth and the extra
            names. Default ('rgb', 'ir').
        extra_modalities (dict): {name: file suffix}. Default
            ``dict(ir='.tiff')``.
        **kwargs: As ``NYUv2MultiTaskDataset`` (``data_root``, ``split``,
            ``targets``, ``pipeline``, ...); ``data_prefix`` may name the
            extra folders too.

    Shapes:
        sample -> dict(inputs={m: (C_m, H, W)}, data_samples=SegDataSample)
        after ``PackMultiModalInputs``
    """

    def __init__(self,
                 data_root: str,
                 modalities: Sequence[str] = ('rgb', 'ir'),
                 extra_modalities: Optional[Dict[str, str]] = None,
                 **kwargs):
        extra = dict(ir='.tiff') if extra_modalities is None else dict(
            extra_modalities)
        self.extra_modalities = {m: s for m, s in extra.items()
                                 if m in modalities}
        self.all_modalities = tuple(modalities)
        # The parent knows rgb and depth only; sample names come from the
        # first of its folders (rgb when only extra modalities are inputs).
        known = tuple(m for m in modalities if m not in extra)
        super().__init__(data_root, modalities=known or ('rgb', ), **kwargs)
        self.modalities = self.all_modalities

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        for name, suffix in self.extra_modalities.items():
            folder = self.data_prefix.get(name) or osp.join(
                self.data_root, self.split, name)
            if not osp.isdir(folder):
                raise FileNotFoundError(
                    f'{name} folder "{folder}" does not exist under data '
                    f'root "{self.data_root}" (projects/custom_modality/'
                    'tools/make_infrared.py writes ir/)')
            for info in data_list:
                stem = osp.splitext(osp.basename(info['img_path']))[0]
                path = osp.join(folder, stem + suffix)
                if not osp.isfile(path):
                    raise FileNotFoundError(
                        f'missing {name} file {path} for sample "{stem}"')
                info[f'{name}_path'] = path
        for info in data_list:
            info['modalities'] = self.all_modalities
        return data_list
