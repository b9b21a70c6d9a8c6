from .depth_colormap import colorize_depth, depth_range
from .local_visualizer import MultiTaskLocalVisualizer

__all__ = ['MultiTaskLocalVisualizer', 'colorize_depth', 'depth_range']
