from .multimodal_data_preprocessor import (MultiMAEDataPreprocessor,
                                           robust_standardize)

__all__ = ['MultiMAEDataPreprocessor', 'robust_standardize']
