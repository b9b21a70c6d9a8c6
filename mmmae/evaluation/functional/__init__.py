from .boundary import (SEISM_THRESHOLDS, boundary_counts,  # noqa: F401
                       match_boundaries, ods_ois, seg_to_bmap, thin)
from .delta_m import (DEFAULT_TASK_METRICS, delta_m,  # noqa: F401
                      format_delta_m_table)
from .normals import normals_angular_error  # noqa: F401
from .saliency import (MAXF_THRESHOLDS, MIOU_THRESHOLDS,  # noqa: F401
                       max_f, max_mean_iou, saliency_counts)
from .confusion import confusion_counts, normalize_confusion  # noqa: F401
