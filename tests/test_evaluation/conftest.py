import pytest
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample


@pytest.fixture
def make_sample():
    """``make_sample('a.png', pred_edge=t, gt_edge=t)``: a data sample as
    mmengine's Evaluator hands it to metrics (``to_dict()`` of PixelData
    fields)."""

    def make(img_path='img.png', **fields):
        ds = SegDataSample(metainfo=dict(img_path=img_path))
        for key, value in fields.items():
            ds.set_field(PixelData(data=value), key)
        return ds.to_dict()

    return make
