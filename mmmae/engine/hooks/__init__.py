from .trainable_params_hook import TrainableParamsHook, count_parameters  # noqa: F401
from .checkpoint_hook import AtomicCheckpointHook  # noqa: F401
from .delta_checkpoint_hook import DeltaCheckpointHook  # noqa: F401
from .model_identity_hook import ModelIdentityHook  # noqa: F401
from .visualization_hook import MultiTaskVisualizationHook  # noqa: F401
from .reconstruction_hook import ReconstructionHook, draw_reconstruction  # noqa: F401
from .rng_state_hook import RngStateHook  # noqa: F401
