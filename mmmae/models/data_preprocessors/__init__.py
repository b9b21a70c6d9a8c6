from .multimodal_data_preprocessor import (MultiModalDataPreprocessor,
                                           robust_standardize)

__all__ = ['MultiModalDataPreprocessor', 'robust_standardize']
