#!/usr/bin/env bash
# README command 1: install if needed, generate the embedded synthetic NYUv2
# dataset if absent, train, then evaluate and print the metrics table.
#
#   bash tools/misc/quickstart.sh [extra tools/train.py args...]
#
# Environment: CONFIG (the model config), WORK_DIR (work_dirs/quickstart),
# MMMAE_VENV (the virtualenv, default .venv). An interrupted run continues
# from its last checkpoint (the config saves every 50 of its 300 iterations)
# and ends bit-identical to an uninterrupted one on the CPU
# (docs/crash_safety.md); delete WORK_DIR to start over.
set -euo pipefail

CONFIG=${CONFIG:-configs/prompt/mtprompt_multimae-tiny_depth-seg_1xb8_300i_nyuv2synth-64x64.py}
WORK_DIR=${WORK_DIR:-work_dirs/quickstart}
DATA_DIR=${DATA_DIR:-data/nyuv2_synth}

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${REPO_ROOT}"
VENV="${MMMAE_VENV:-${REPO_ROOT}/.venv}"

bash tools/misc/setup_env.sh
PY="${VENV}/bin/python"

if [[ ! -f "${CONFIG}" ]]; then
    echo "quickstart.sh: config file not found: ${CONFIG}" >&2
    exit 1
fi

if [[ ! -d "${DATA_DIR}/train/rgb" || ! -d "${DATA_DIR}/test/rgb" ]]; then
    echo ">> generating the synthetic NYUv2-format dataset in ${DATA_DIR}"
    "${PY}" tools/dataset_converters/synthetic_nyuv2.py --out "${DATA_DIR}"
else
    echo ">> dataset present: ${DATA_DIR}"
fi

echo ">> training ${CONFIG}"
"${PY}" tools/train.py "${CONFIG}" --work-dir "${WORK_DIR}" --resume "$@"

if [[ ! -f "${WORK_DIR}/last_checkpoint" ]]; then
    echo "quickstart.sh: training wrote no checkpoint in ${WORK_DIR}" >&2
    exit 1
fi
CHECKPOINT="$(cat "${WORK_DIR}/last_checkpoint")"

echo ">> testing ${CHECKPOINT}"
"${PY}" tools/test.py "${CONFIG}" "${CHECKPOINT}" --work-dir "${WORK_DIR}/test"

# TrainableParamsHook logs trainable vs total parameters at the start of a run.
LOG="$(ls -t "${WORK_DIR}"/*/*.log 2>/dev/null | head -n 1 || true)"
if [[ -n "${LOG}" ]] && grep -q 'TrainableParamsHook:' "${LOG}"; then
    echo ">> $(grep -m1 -o 'TrainableParamsHook: .*' "${LOG}" | cut -d' ' -f2-)"
fi
echo ">> done: checkpoint ${CHECKPOINT}, logs in ${WORK_DIR}"
