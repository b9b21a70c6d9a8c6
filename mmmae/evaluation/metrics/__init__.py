from .boundary_metric import BoundaryMetric  # noqa: F401
from .delta_m_metric import MultiTaskDeltaMetric  # noqa: F401
from .normals_metric import NormalsMetric  # noqa: F401
from .saliency_metric import SaliencyMetric  # noqa: F401
from .task_iou_metric import (PART_CLASSES, HumanPartsIoUMetric,  # noqa: F401
                              TaskIoUMetric)
