from .multi_task_segmentor import MultiTaskSegmentor  # noqa: F401
