from .checkpoint import (CorruptCheckpointError, UnsafeCheckpointError,
                         load_checkpoint_file, register_safe_checkpoint_loader,
                         trust_checkpoint)
from .config_errors import (ConfigKeyError, ConfigNotFoundError,
                            UnknownTypeError, build_runner,
                            explain_registry_errors, load_config)
from .launch import setup_cpu_distributed
from .model_zoo import get_config
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'load_checkpoint_file', 'trust_checkpoint',
    'register_safe_checkpoint_loader', 'UnsafeCheckpointError',
    'CorruptCheckpointError', 'load_config', 'build_runner',
    'explain_registry_errors', 'setup_cpu_distributed', 'UnknownTypeError',
    'ConfigNotFoundError', 'ConfigKeyError', 'get_config'
]
