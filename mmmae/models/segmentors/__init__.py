from .multi_task_segmentor import MultiTaskSegmentor  # noqa: F401
from .tta import MultiTaskTTAModel  # noqa: F401
