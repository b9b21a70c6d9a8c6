# The ViT-L pre-training of multimae_vit-l_pretrain_8xb256-amp-1600e_in1k-224.py
# sharded with FSDP: mmengine's FlexibleRunner with FSDPStrategy. Each rank
# keeps 1/world_size of the parameters, gradients and AdamW state, and
# gathers one wrapped unit's full parameters at a time for its forward and
# backward (docs/distributed.md, with the memory measured per process).
#
#   bash tools/dist_train.sh configs/multimae/multimae_vit-l_pretrain-fsdp_8xb256-amp-1600e_in1k-224.py 8
_base_ = ['./multimae_vit-l_pretrain_8xb256-amp-1600e_in1k-224.py']

runner_type = 'FlexibleRunner'
strategy = dict(
    # mmmae's FSDPStrategy: mmengine's, with --resume fixed for torch >= 2.1
    # (mmmae/engine/strategies/fsdp_strategy.py).
    type='FSDPStrategy',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        # One FSDP unit per transformer Block (12.6M parameters each in
        # ViT-L; the decoders' blocks too); adapters, tokens and the rest of
        # the decoders stay in the root unit. Not torch's size-based policy:
        # it may wrap the whole backbone, whose tokenize() runs outside
        # FSDP's forward (mmmae/engine/strategies/wrap_policy.py). The scope
        # prefix is needed: mmengine looks policies up in its root registry.
        auto_wrap_policy=dict(type='mmmae.multivit_block_wrap_policy'),
        use_orig_params=True),
    # Checkpoints hold the full (unsharded) state dict, written by rank 0,
    # so they load in a single process and in the DDP config alike.
    state_dict_cfg='full')
# AmpOptimWrapper is kept: FSDPStrategy gives it FSDP's sharded gradient
# scaler (use_fsdp=True).
