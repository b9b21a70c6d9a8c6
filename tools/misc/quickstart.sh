#!/usr/bin/env bash
# README command 1: what mmmae is for, on a CPU in minutes. Installs if
# needed, generates the embedded synthetic NYUv2 dataset if absent, then
#   1. pre-trains a tiny MultiMAE (rgb + depth + semseg, masked) on it;
#   2. prompt-tunes the frozen pre-trained encoder for 4 dense tasks at once
#      (semseg, depth, surface normals, boundaries: multi-task prompts, one
#      backbone pass);
#   3. fully fine-tunes the same pre-trained encoder on the 4 tasks, for
#      comparison;
#   4-7. fine-tunes one single-task twin per task (the Δm baselines);
# and prints one table: per-task metrics, Δm against the single-task
# baselines and the trainable share of each run
# (tools/analysis_tools/multi_task_table.py).
#
#   bash tools/misc/quickstart.sh [extra tools/train.py args...]
#   CONFIG=configs/... bash tools/misc/quickstart.sh   # one config only:
#                                                      # train, test, share
#
# Environment: CONFIG (one config instead of the story), WORK_DIR
# (work_dirs/quickstart), DATA_DIR (data/nyuv2_synth), MMMAE_VENV (the
# virtualenv, default .venv). Every phase logs its progress and saves a
# checkpoint every 50 iterations; rerunning the script after an interruption
# skips the finished phases and continues the interrupted one from its last
# checkpoint, bit-identical to an uninterrupted run on the CPU
# (docs/crash_safety.md); delete WORK_DIR to start over.
set -euo pipefail

WORK_DIR=${WORK_DIR:-work_dirs/quickstart}
DATA_DIR=${DATA_DIR:-data/nyuv2_synth}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${REPO_ROOT}"
VENV="${MMMAE_VENV:-${REPO_ROOT}/.venv}"

bash tools/misc/setup_env.sh
PY="${VENV}/bin/python"
# One thread per process: on a shared or small CPU torch's default thread
# count makes these tiny models several times slower.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

# The 4-task set needs the normals and boundary maps of the synthetic set's
# second version; an older copy without them is regenerated.
if [[ ! -d "${DATA_DIR}/train/normals" || ! -d "${DATA_DIR}/test/edge" ]]; then
    echo ">> generating the synthetic NYUv2-format dataset in ${DATA_DIR}"
    "${PY}" tools/dataset_converters/synthetic_nyuv2.py --out "${DATA_DIR}" \
        --overwrite
else
    echo ">> dataset present: ${DATA_DIR}"
fi

# train_and_test CONFIG WORK_DIR [--cfg-options ...]: train (resuming from the
# newest checkpoint), then test the last checkpoint unless its metrics are
# already there. Extra script arguments go to tools/train.py.
train_and_test() {
    local config=$1 wd=$2
    shift 2
    if [[ ! -f "${config}" ]]; then
        echo "quickstart.sh: config file not found: ${config}" >&2
        exit 1
    fi
    "${PY}" tools/train.py "${config}" --work-dir "${wd}" --resume \
        "$@" "${TRAIN_ARGS[@]}"
    if [[ ! -f "${wd}/last_checkpoint" ]]; then
        echo "quickstart.sh: training wrote no checkpoint in ${wd}" >&2
        exit 1
    fi
    local checkpoint
    checkpoint="$(cat "${wd}/last_checkpoint")"
    # Test metrics newer than the checkpoint mean the test is done (the
    # single-config mode always tests, to print the metrics).
    if [[ -z "${CONFIG:-}" && -d "${wd}/test" ]] && [[ -n "$(find \
            "${wd}/test" -mindepth 2 -maxdepth 2 -name '*.json' \
            -newer "${checkpoint}" | head -n 1)" ]]
    then
        echo ">> test metrics present: ${wd}/test"
    else
        echo ">> testing ${checkpoint}"
        "${PY}" tools/test.py "${config}" "${checkpoint}" \
            --work-dir "${wd}/test" "$@"
    fi
}

# TrainableParamsHook logs trainable vs total parameters at the start of a run.
print_share() {
    local log
    log="$(ls -t "$1"/*/*.log 2>/dev/null | head -n 1 || true)"
    if [[ -n "${log}" ]] && grep -q 'TrainableParamsHook:' "${log}"; then
        echo ">> $(grep -m1 -o 'TrainableParamsHook: .*' "${log}" | cut -d' ' -f2-)"
    fi
}

TRAIN_ARGS=("$@")

if [[ -n "${CONFIG:-}" ]]; then
    echo ">> training ${CONFIG}"
    train_and_test "${CONFIG}" "${WORK_DIR}"
    print_share "${WORK_DIR}"
    echo ">> done: checkpoint $(cat "${WORK_DIR}/last_checkpoint"), logs in ${WORK_DIR}"
    exit 0
fi

PRETRAIN=configs/multimae/multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py
SUFFIX=1xb8-150i_nyuv2synth-64x64.py
MTPROMPT=configs/prompt/mtprompt_multimae-tiny-p8-pt_seg-depth-normals-edge_${SUFFIX}
FINETUNE=configs/multimae/multimae_vit-tiny-p8-pt_seg-depth-normals-edge_${SUFFIX}
TASKS=(semseg depth normals edge)
N=$((3 + ${#TASKS[@]}))

echo ">> [1/${N}] pre-training a tiny MultiMAE on the synthetic set (${PRETRAIN})"
"${PY}" tools/train.py "${PRETRAIN}" --work-dir "${WORK_DIR}/pretrain" \
    --resume "${TRAIN_ARGS[@]}"
PRETRAINED="$(cat "${WORK_DIR}/pretrain/last_checkpoint")"
# Every later phase starts from the pre-trained encoder.
FROM_PRETRAINED=(--cfg-options "model.backbone.init_cfg.checkpoint=${PRETRAINED}")

echo ">> [2/${N}] multi-task prompt tuning of the frozen pre-trained encoder (${MTPROMPT})"
train_and_test "${MTPROMPT}" "${WORK_DIR}/mtprompt" "${FROM_PRETRAINED[@]}"

echo ">> [3/${N}] full fine-tuning of the pre-trained encoder, for comparison (${FINETUNE})"
train_and_test "${FINETUNE}" "${WORK_DIR}/finetune" "${FROM_PRETRAINED[@]}"

BASELINES=()
i=3
for task in "${TASKS[@]}"; do
    i=$((i + 1))
    config=configs/multimae/multimae_vit-tiny-p8-pt_${task}_${SUFFIX}
    echo ">> [${i}/${N}] single-task baseline: ${task} (${config})"
    train_and_test "${config}" "${WORK_DIR}/single_${task}" \
        "${FROM_PRETRAINED[@]}"
    BASELINES+=("${task}=${WORK_DIR}/single_${task}/test")
done

echo ">> results on the synthetic test split (Δ per task and Δm in % against the single-task baselines)"
"${PY}" tools/analysis_tools/multi_task_table.py \
    --run "full fine-tuning=${WORK_DIR}/finetune/test" \
    "multi-task prompts=${WORK_DIR}/mtprompt/test" \
    --baseline "${BASELINES[@]}" --out "${WORK_DIR}/results.json"
echo ">> done: logs and checkpoints in ${WORK_DIR}"
