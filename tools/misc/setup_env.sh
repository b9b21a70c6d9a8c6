#!/usr/bin/env bash
# The one idempotent setup step of mmmae.
#
#   bash tools/misc/setup_env.sh            # runtime stack + mmmae (editable)
#   bash tools/misc/setup_env.sh --tests    # ... plus the test extras
#
# Creates a virtualenv (default: <repo>/.venv, override with MMMAE_VENV) and
# installs the pinned stack in the order that works (see requirements/*.txt):
#   1. torch + torchvision (pinned below);
#   2. the OpenMMLab forks with --no-deps (else pip pulls upstream mmengine and
#      opencv-python over them);
#   3. their runtime deps and mmmae's (requirements/runtime.txt);
#   4. mmmae itself, editable, with --no-deps.
# A stamp file in the venv holds a hash of the requirements files, setup.py
# and this script; when it matches, the script exits at once.
set -euo pipefail

TORCH_PIN="torch==2.14.1"
TORCHVISION_PIN="torchvision==0.29.1"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${MMMAE_VENV:-${REPO_ROOT}/.venv}"
PYTHON_BIN="${MMMAE_PYTHON:-python3}"

WITH_TESTS=0
for arg in "$@"; do
    case "${arg}" in
        --tests) WITH_TESTS=1 ;;
        -h|--help)
            sed -n '2,15p' "${BASH_SOURCE[0]}"
            exit 0 ;;
        *)
            echo "setup_env.sh: unknown argument '${arg}' (known: --tests)" >&2
            exit 2 ;;
    esac
done

cd "${REPO_ROOT}"

# Everything that decides what gets installed goes into the hash.
stamp_hash() {
    # $1: extra tag ("base" or "tests")
    {
        echo "$1"
        echo "${TORCH_PIN} ${TORCHVISION_PIN} ${VENV}"
        cat "${BASH_SOURCE[0]}" setup.py requirements.txt requirements/*.txt
    } | sha256sum | cut -d' ' -f1
}

stamp_ok() {
    # $1: tag; true when the venv exists and its stamp matches.
    local file="${VENV}/.setup_stamp_$1"
    [[ -x "${VENV}/bin/python" && -f "${file}" ]] &&
        [[ "$(cat "${file}")" == "$(stamp_hash "$1")" ]]
}

if stamp_ok base && { [[ ${WITH_TESTS} -eq 0 ]] || stamp_ok tests; }; then
    echo "mmmae environment is up to date: ${VENV}"
    exit 0
fi

start=${SECONDS}
if [[ ! -x "${VENV}/bin/python" ]]; then
    echo ">> creating virtualenv ${VENV} with ${PYTHON_BIN}"
    "${PYTHON_BIN}" -m venv "${VENV}"
fi
PIP=("${VENV}/bin/python" -m pip install --progress-bar off)

if ! stamp_ok base; then
    # A stale stamp must not survive a half-finished install.
    rm -f "${VENV}/.setup_stamp_base" "${VENV}/.setup_stamp_tests"
    echo ">> [1/4] torch"
    "${PIP[@]}" "${TORCH_PIN}" "${TORCHVISION_PIN}"
    echo ">> [2/4] OpenMMLab forks (--no-deps)"
    "${PIP[@]}" --no-deps -r requirements/mminstall.txt
    echo ">> [3/4] runtime requirements"
    # The torch pins ride along so the resolver never moves torch.
    "${PIP[@]}" -r requirements/runtime.txt "${TORCH_PIN}" "${TORCHVISION_PIN}" \
        "setuptools>=64" wheel
    echo ">> [4/4] mmmae (editable, --no-deps)"
    "${PIP[@]}" --no-deps --no-build-isolation -e .
    "${VENV}/bin/python" -c "import mmcv, mmengine, mmseg, mmpretrain, mmmae"
    stamp_hash base > "${VENV}/.setup_stamp_base"
fi

if [[ ${WITH_TESTS} -eq 1 ]] && ! stamp_ok tests; then
    echo ">> test extras"
    "${PIP[@]}" -r requirements/tests.txt
    stamp_hash tests > "${VENV}/.setup_stamp_tests"
fi

echo "mmmae environment ready in $((SECONDS - start)) s: ${VENV}"
