from .functional import (DEFAULT_TASK_METRICS, delta_m,  # noqa: F401
                         format_delta_m_table)
from .metrics import (BoundaryMetric, HumanPartsIoUMetric,  # noqa: F401
                      MultiTaskDeltaMetric, NormalsMetric, SaliencyMetric,
                      TaskIoUMetric)
from .multi_task_accuracy import MultiTaskAccuracy  # noqa: F401
