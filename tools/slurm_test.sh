#!/usr/bin/env bash
# Testing on a Slurm cluster:
#   [GPUS=8] bash tools/slurm_test.sh PARTITION JOB CONFIG CHECKPOINT [test.py args...]
set -euo pipefail

if [[ $# -lt 4 ]]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
for var in GPUS GPUS_PER_NODE CPUS_PER_TASK; do
    if ! [[ "${!var}" =~ ^[1-9][0-9]*$ ]]; then
        echo "slurm_test.sh: ${var} must be a positive integer, got '${!var}'" >&2
        exit 2
    fi
done

set -x
# shellcheck disable=SC2086  # SRUN_ARGS holds several words on purpose
PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:${PYTHONPATH}}" \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    python -u "$(dirname "$0")/test.py" "${CONFIG}" "${CHECKPOINT}" \
    --launcher=slurm "${@:5}"
