from .base_clip_prompt import BaseCLIPPrompt, CLIPPromptContext, PromptUnit
from .coop import CoOpPrompt
from .grouping import load_grouping_file, resolve_groups
from .maple import MaPLePrompt
from .mmap import MmAPPrompt
from .vpt import CLIPVPTPrompt

__all__ = [
    'BaseCLIPPrompt', 'CLIPPromptContext', 'PromptUnit', 'CoOpPrompt',
    'CLIPVPTPrompt', 'MaPLePrompt', 'MmAPPrompt', 'resolve_groups',
    'load_grouping_file'
]
