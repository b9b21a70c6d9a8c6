from .multi_task_clip_classifier import MultiTaskCLIPClassifier

__all__ = ['MultiTaskCLIPClassifier']
