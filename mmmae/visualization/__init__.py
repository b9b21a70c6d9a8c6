from .depth_colormap import colorize_depth, depth_range
from .local_visualizer import MultiTaskLocalVisualizer
from .vis_backend import AtomicLocalVisBackend

__all__ = [
    'MultiTaskLocalVisualizer', 'AtomicLocalVisBackend', 'colorize_depth',
    'depth_range'
]
