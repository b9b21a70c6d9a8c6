from .classification import UnknownTaskError
from .inference import inference_model, init_model
from .inferencers import (MultiMAEReconstructionInferencer,
                          MultiTaskCLIPInferencer, MultiTaskDenseInferencer)
from .modalities import (ModalitySubsetError, UnknownModalityError,
                         restrict_input_modalities)

__all__ = [
    'init_model', 'inference_model', 'MultiTaskDenseInferencer',
    'MultiMAEReconstructionInferencer', 'MultiTaskCLIPInferencer',
    'UnknownTaskError', 'UnknownModalityError', 'ModalitySubsetError',
    'restrict_input_modalities'
]
