"""mmmae's registries: children of mmengine's root registries.

Each registry carries ``locations`` so that building a config imports the
package that defines the requested type; a config never needs manual imports.
Components of mmseg and mmpretrain stay reachable with their scope prefix,
e.g. ``type='mmseg.IoUMetric'``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS,
                   locations=['mmmae.engine'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMENGINE_RUNNER_CONSTRUCTORS)
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['mmmae.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS,
                 locations=['mmmae.engine.hooks'])
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS,
                     locations=['mmmae.datasets', 'mmmae.engine.strategies'])
# FlexibleRunner's strategies (mmmae's FSDPStrategy fixes mmengine's resume).
STRATEGIES = Registry('strategy', parent=MMENGINE_STRATEGIES,
                      locations=['mmmae.engine.strategies'])

DATASETS = Registry('dataset', parent=MMENGINE_DATASETS,
                    locations=['mmmae.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS,
                         locations=['mmmae.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS,
                      locations=['mmmae.datasets.transforms'])

MODELS = Registry('model', parent=MMENGINE_MODELS,
                  locations=['mmmae.models'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS,
                          locations=['mmmae.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS,
    locations=['mmmae.models'])

OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS,
                      locations=['mmmae.engine.optimizers'])
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS,
                          locations=['mmmae.engine.optimizers'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['mmmae.engine.optimizers'])
PARAM_SCHEDULERS = Registry('parameter scheduler',
                            parent=MMENGINE_PARAM_SCHEDULERS,
                            locations=['mmmae.engine'])

METRICS = Registry('metric', parent=MMENGINE_METRICS,
                   locations=['mmmae.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR,
                     locations=['mmmae.evaluation'])

TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS,
                      locations=['mmmae.models'])

VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS,
                       locations=['mmmae.visualization'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS,
                       locations=['mmmae.visualization'])

LOG_PROCESSORS = Registry('log_processor', parent=MMENGINE_LOG_PROCESSORS,
                          locations=['mmmae.engine'])
INFERENCERS = Registry('inferencer', parent=MMENGINE_INFERENCERS,
                       locations=['mmmae.apis'])
# Data, not classes: the kinds of map a pipeline handles (ModalityKind
# instances) and the functions that decode their files. mmengine has no
# registries of either to be children of.
MODALITY_KINDS = Registry('modality kind', scope='mmmae',
                          locations=['mmmae.datasets.modality_kinds'])
MODALITY_LOADERS = Registry('modality loader', scope='mmmae',
                            locations=['mmmae.datasets.transforms.loaders'])
