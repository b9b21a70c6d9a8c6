#!/usr/bin/env bash
# One GPU check, ready to run: prints ONE table (docs/performance.md,
# "GPU check") of
#   - the AMP train step of ViT-B MultiMAE pre-training, NYUv2 depth+seg
#     fine-tuning at 640x640, VPT-deep prompt tuning and MmAP-MT on CLIP
#     ViT-B/16: images/s, peak memory (CUDA max_memory_allocated) and MFU
#     (model FLOP/s over the measured GEMM peak in the train dtype), each
#     with torch.compile off and on;
#   - the NYUv2 train pipeline: samples/s in one process beside its decode
#     floor, and the config's DataLoader with its own workers.
# Each step is tools/analysis_tools/benchmark.py (or dataloader_speed.py)
# with --out JSON; tools/analysis_tools/gpu_check_table.py assembles them.
# It writes its own synthetic NYUv2-size data and needs no network and no
# checkpoints (random weights: speed and memory do not depend on them).
#
#   bash tools/misc/gpu_check.sh [--cpu-dry-run] [--out DIR]
#
# --cpu-dry-run: the same sequence on the tiny configs on the CPU (seconds
# per step; compile with the 'eager' backend), so CI tests the script end
# to end. Without it and without a CUDA device the script exits with 2.
# Environment: MMMAE_VENV (default .venv), GPU_CHECK_ITERS (timed steps,
# default 10).
set -uo pipefail

DRY_RUN=0
OUT_DIR=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --cpu-dry-run) DRY_RUN=1; shift ;;
        --out) OUT_DIR="$2"; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "gpu_check.sh: unknown argument '$1' (use --cpu-dry-run," \
                "--out DIR)" >&2; exit 2 ;;
    esac
done

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${REPO_ROOT}"
PY="${MMMAE_VENV:-${REPO_ROOT}/.venv}/bin/python"
[[ -x "${PY}" ]] || PY=python
OUT_DIR="${OUT_DIR:-$(mktemp -d -t gpu_check.XXXXXX)}"
mkdir -p "${OUT_DIR}"

if [[ ${DRY_RUN} == 0 ]]; then
    if ! "${PY}" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
        echo "gpu_check.sh: no CUDA device (torch.cuda.is_available() is" \
             "False for ${PY}); run it on a GPU machine, or test the" \
             "script itself with --cpu-dry-run" >&2
        exit 2
    fi
    DEVICE=cuda
    ITERS=${GPU_CHECK_ITERS:-10}
    WARMUP=3  # compile happens here
    DATA_SIZE="480 640"; DATA_TRAIN=48; DATA_SAMPLES=40; LOADER_BATCHES=20
    COMPILE_ON=(--compile)
    GEMM=()
    FT=configs/multimae/multimae_vit-b_depth-seg_1xb8-amp-20k_nyuv2-640x640.py
    RUNS=(
        "pretrain|configs/multimae/multimae_vit-b_pretrain_8xb256-amp-1600e_in1k-224.py|256|"
        "finetune|${FT}|8|"
        "vpt-deep|configs/prompt/vpt-deep_multimae-b_p50_1xb8-amp-20k_nyuv2-640x640.py|8|"
        "mmap-mt|configs/mmap/mmap-mt_clip-vit-b16_l8d12_1xb32-5e_office-home-224.py|32|model.prompt.grouping_file=None"
    )
else
    DEVICE=cpu
    ITERS=1
    WARMUP=1
    DATA_SIZE="64 64"; DATA_TRAIN=8; DATA_SAMPLES=4; LOADER_BATCHES=2
    # Dynamo's tracing without a compiler: the compile path, in seconds.
    COMPILE_ON=(--cfg-options compile.backend=eager)
    GEMM=(--gemm-size 128 --gemm-reps 1)
    FT=configs/multimae/multimae_vit-tiny_depth-seg_1xb8-300i_nyuv2synth-64x64.py
    RUNS=(
        "pretrain|configs/multimae/multimae_vit-tiny_pretrain_1xb16-300i_nyuv2synth-64x64.py|2|"
        "finetune|${FT}|2|"
        "vpt-deep|configs/prompt/vpt-deep_multimae-tiny_p8_1xb8-300i_nyuv2synth-64x64.py|2|"
        "mmap-mt|configs/mmap/mmap-mt_clip-tiny_l2d2_1xb16-300i_toy-multidomain-32.py|2|"
    )
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
fi

echo "gpu_check: device ${DEVICE}, results in ${OUT_DIR}"
DATA="${OUT_DIR}/nyuv2_synth"
# shellcheck disable=SC2086
"${PY}" tools/dataset_converters/synthetic_nyuv2.py --out "${DATA}" \
    --size ${DATA_SIZE} --num-train ${DATA_TRAIN} --num-test 2 --overwrite \
    > "${OUT_DIR}/data__generate.log" 2>&1 \
    || echo "gpu_check: synthetic data FAILED (${OUT_DIR}/data__generate.log)" >&2

step() {  # step NAME COMMAND...: run, log, never abort the whole check
    local name="$1"; shift
    echo "gpu_check: ${name}"
    if ! "$@" > "${OUT_DIR}/${name}.log" 2>&1; then
        echo "gpu_check: ${name} FAILED (${OUT_DIR}/${name}.log)" >&2
        rm -f "${OUT_DIR}/${name}.json"
    fi
}

NAMES=()
for run in "${RUNS[@]}"; do
    IFS='|' read -r name config batch extra <<< "${run}"
    NAMES+=("${name}")
    opts=()
    [[ -n "${extra}" ]] && opts=(--cfg-options ${extra})
    common=("${config}" --device "${DEVICE}" --batch-size "${batch}"
            --phases train --iters "${ITERS}" --warmup "${WARMUP}"
            "${GEMM[@]}")
    step "${name}__compile-off" "${PY}" tools/analysis_tools/benchmark.py \
        "${common[@]}" "${opts[@]}" --out "${OUT_DIR}/${name}__compile-off.json"
    step "${name}__compile-on" "${PY}" tools/analysis_tools/benchmark.py \
        "${common[@]}" "${COMPILE_ON[@]}" "${opts[@]}" \
        --out "${OUT_DIR}/${name}__compile-on.json"
done

ROOT_KEY=train_dataloader.dataset.data_root
step data__pipeline "${PY}" tools/analysis_tools/benchmark.py "${FT}" \
    --phases data --data-samples "${DATA_SAMPLES}" --data-warmup 2 \
    --cfg-options "${ROOT_KEY}=${DATA}" --out "${OUT_DIR}/data__pipeline.json"
step data__loader "${PY}" tools/analysis_tools/dataloader_speed.py "${FT}" \
    --batches "${LOADER_BATCHES}" --warmup 2 \
    --cfg-options "${ROOT_KEY}=${DATA}" --out "${OUT_DIR}/data__loader.json"

echo
"${PY}" tools/analysis_tools/gpu_check_table.py "${OUT_DIR}" \
    --runs "${NAMES[@]}" --out "${OUT_DIR}/table.md"
