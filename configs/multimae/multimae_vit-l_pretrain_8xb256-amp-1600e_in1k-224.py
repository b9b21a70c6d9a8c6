# MultiMAE ViT-L/16 pre-training: the ViT-B recipe of
# multimae_vit-b_pretrain_8xb256-amp-1600e_in1k-224.py (data, masking,
# decoders, optimizer, schedule, AMP) with a ViT-L encoder (1024 dims, 24
# blocks, 16 heads). The MultiMAE paper trains ViT-B only; this size is ours
# and untested against any published number (docs/distributed.md). The
# 256-d decoders stay as ViT-B's; they read the 1024-d tokens through their
# own input projection.
#
#   bash tools/dist_train.sh configs/multimae/multimae_vit-l_pretrain_8xb256-amp-1600e_in1k-224.py 8
# Sharded (parameters, gradients and optimizer state split over the GPUs):
#   multimae_vit-l_pretrain-fsdp_8xb256-amp-1600e_in1k-224.py
_base_ = ['./multimae_vit-b_pretrain_8xb256-amp-1600e_in1k-224.py']

model = dict(backbone=dict(arch='l'))
