# Multi-task prompt tuning on a CPU in minutes: joint depth + 40-class
# semseg from rgb on the embedded synthetic NYUv2 data, with 4 shared + 4
# depth + 4 semseg prompt tokens per block in ONE pass of the frozen tiny
# backbone and light heads; prints mmseg's IoUMetric and DepthMetric and the
# trainable share (TrainableParamsHook).
#   python tools/dataset_converters/synthetic_nyuv2.py --out data/nyuv2_synth
#   python tools/train.py configs/prompt/mtprompt_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py
#   python tools/test.py configs/prompt/mtprompt_multimae-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py work_dirs/<name>/iter_300.pth
# The frozen backbone is RANDOMLY initialised (no pre-trained tiny
# checkpoint ships with mmmae, and the README command must run on a fresh
# clone), so most of what is learnt sits in the heads: 349.5K of 1.24M
# parameters train (28.16%; prompts 6.4K = 0.72% of the backbone), against
# 2.31% for the ViT-B -light config. Measured (2 shared CPU cores, seed 0):
# untrained mIoU 0.38, delta1 0.295 -> after 300 iterations mIoU 41.13,
# delta1 0.665, in 8 min of CPU time (user; 22 min wall on 2 cores shared
# with other jobs). The full fine-tuning config's header reports ~45 / ~0.7.
# Checkpoints hold the trained part only; the random frozen weights go once
# to <work_dir>/frozen_base-<fingerprint>.pth, which tools/test.py loads first.
_base_ = ['./vpt-deep_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py']

model = dict(backbone=dict(
    prompt=dict(_delete_=True, type='MultiTaskPrompt',
                tasks=('depth', 'semseg'), shared_length=4, task_length=4,
                deep=True, dropout=0.1)))
