from .checkpoint_check import check_state_dict_fits, load_pretrained
from .checkpoint_convert import (convert_multimae, convert_vit,
                                 detect_checkpoint_format, map_multimae_key,
                                 map_vit_key, unwrap_state_dict)
from .decoders import SpatialCrossAttentionDecoder
from .masking import DirichletMasking, MaskingResult
from .multimae import MultiMAE

__all__ = [
    'DirichletMasking', 'MaskingResult', 'MultiMAE',
    'SpatialCrossAttentionDecoder', 'check_state_dict_fits',
    'load_pretrained', 'convert_multimae', 'convert_vit',
    'detect_checkpoint_format', 'map_multimae_key', 'map_vit_key',
    'unwrap_state_dict'
]
