"""mmmae's FSDP pieces without processes: the block wrap policy, the
FSDPStrategy in mmmae's scope, the ViT-L configs, and the CPU adaptation
of FlexibleRunner strategies. The 2-process runs are in
tests/test_tools/test_fsdp_dist_train.py (slow)."""
import os.path as osp

import pytest
import torch.nn as nn
from mmengine._strategy.fsdp import FSDPStrategy as MMEngineFSDPStrategy
from mmengine.config import Config
from mmengine.registry import FUNCTIONS as ROOT_FUNCTIONS

from mmmae.engine.strategies import FSDPStrategy, multivit_block_wrap_policy
from mmmae.models.layers import Block
from mmmae.registry import MODELS, STRATEGIES
from mmmae.utils.launch import _cpu_strategy

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
CFG_DIR = osp.join(REPO, 'configs/multimae')
VIT_B = osp.join(CFG_DIR,
                 'multimae_vit-b_pretrain_8xb256-amp-1600e_in1k-224.py')
VIT_L = osp.join(CFG_DIR,
                 'multimae_vit-l_pretrain_8xb256-amp-1600e_in1k-224.py')
VIT_L_FSDP = osp.join(
    CFG_DIR, 'multimae_vit-l_pretrain-fsdp_8xb256-amp-1600e_in1k-224.py')


def test_policy_wraps_blocks_only():
    block = Block(32, 2)
    # recurse=True asks whether to descend: always.
    assert multivit_block_wrap_policy(nn.Linear(2, 2), True, 0)
    assert multivit_block_wrap_policy(block, False, 10**6)
    assert not multivit_block_wrap_policy(block.attn, False, 10**6)
    assert not multivit_block_wrap_policy(nn.Linear(2, 2), False, 10**9)


def test_policy_is_found_the_way_mmengine_looks_it_up():
    # MMFullyShardedDataParallel calls the root registry's get().
    assert ROOT_FUNCTIONS.get('mmmae.multivit_block_wrap_policy') is \
        multivit_block_wrap_policy


def test_fsdp_strategy_in_mmmae_scope_is_the_fixed_one():
    assert STRATEGIES.get('FSDPStrategy') is FSDPStrategy
    assert issubclass(FSDPStrategy, MMEngineFSDPStrategy)
    assert FSDPStrategy.load_optim_state_dict is not \
        MMEngineFSDPStrategy.load_optim_state_dict


def test_vit_l_is_the_vit_b_recipe_with_a_large_encoder():
    base, large = Config.fromfile(VIT_B), Config.fromfile(VIT_L)
    assert large.model.backbone.arch == 'l'
    for key in ('masking', 'decoders', 'losses', 'data_preprocessor'):
        assert large.model[key] == base.model[key], key
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg',
                'train_dataloader', 'auto_scale_lr'):
        assert large[key] == base[key], key
    # The sizes 'l' stands for (building 300M parameters here is too heavy).
    arch = MODELS.get('MultiViT').arch_zoo['l']
    assert (arch['embed_dims'], arch['depth'], arch['num_heads']) == \
        (1024, 24, 16)
    # One ViT-L block: the 12.6M parameters each FSDP unit holds.
    block = Block(1024, 16)
    assert sum(p.numel() for p in block.parameters()) == 12596224


def test_fsdp_config_runs_the_vit_l_through_flexible_runner():
    large, fsdp = Config.fromfile(VIT_L), Config.fromfile(VIT_L_FSDP)
    assert fsdp.runner_type == 'FlexibleRunner'
    assert fsdp.strategy.type == 'FSDPStrategy'
    assert fsdp.strategy.state_dict_cfg == 'full'
    assert fsdp.strategy.model_wrapper.auto_wrap_policy.type == \
        'mmmae.multivit_block_wrap_policy'
    for key in ('model', 'optim_wrapper', 'param_scheduler', 'train_cfg'):
        assert fsdp[key] == large[key], key


@pytest.mark.parametrize('strategy,expected', [
    (dict(type='FSDPStrategy',
          model_wrapper=dict(use_orig_params=True)),
     dict(type='MMFullyShardedDataParallel', use_orig_params=True,
          device_id='cpu')),
    (dict(type='FSDPStrategy'),
     dict(type='MMFullyShardedDataParallel', device_id='cpu')),
    (dict(type='DDPStrategy'),
     dict(type='MMDistributedDataParallel', broadcast_buffers=False,
          device_ids=None)),
])
def test_cpu_runs_put_flexible_strategies_on_the_cpu(strategy, expected):
    _cpu_strategy(strategy)
    assert strategy['model_wrapper'] == expected


def test_other_strategies_are_left_alone():
    strategy = dict(type='DeepSpeedStrategy')
    _cpu_strategy(strategy)
    assert strategy == dict(type='DeepSpeedStrategy')
