#!/usr/bin/env bash
# Training on a Slurm cluster:
#   [GPUS=8] [GPUS_PER_NODE=8] bash tools/slurm_train.sh PARTITION JOB CONFIG [train.py args...]
set -euo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [train.py args...]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=${GPUS:-4}
GPUS_PER_NODE=${GPUS_PER_NODE:-4}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
for var in GPUS GPUS_PER_NODE CPUS_PER_TASK; do
    if ! [[ "${!var}" =~ ^[1-9][0-9]*$ ]]; then
        echo "slurm_train.sh: ${var} must be a positive integer, got '${!var}'" >&2
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
    python -u "$(dirname "$0")/train.py" "${CONFIG}" --launcher=slurm "${@:4}"
