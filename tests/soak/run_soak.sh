#!/usr/bin/env bash
# A longer soak by hand (the ctest entry soak.10k holds 75 s; test_soak.py alone, 120 s):
#   tests/soak/run_soak.sh BUILD_DIR [SECONDS] [ALLOCATIONS]
# e.g. tests/soak/run_soak.sh build 3600 10000. BUILD_DIR must have turnd and soak_client built
# (cmake --build BUILD_DIR --target turnd soak_client). Any SOAK_* variable of test_soak.py
# passes through (SOAK_RATE, SOAK_CHURN, SOAK_TCP_PERCENT, ...); TURND_BIN overrides the binary
# (e.g. BUILD_DIR/fuzz-clang/server/turnd, the asan.* tests' sanitized turnd, with
# ASAN_OPTIONS=detect_leaks=1:abort_on_error=1).
# The figures are printed (SOAK REPORT line) and written to BUILD_DIR/soak-report.json.
set -euo pipefail
build=$(cd "${1:?usage: run_soak.sh BUILD_DIR [SECONDS] [ALLOCATIONS]}" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SOAK_SECONDS=${2:-${SOAK_SECONDS:-600}}
export SOAK_ALLOCATIONS=${3:-${SOAK_ALLOCATIONS:-10000}}
export TURND_BIN=${TURND_BIN:-$build/server/turnd}
export SOAK_CLIENT=${SOAK_CLIENT:-$build/tests/soak/soak_client}
export SOAK_REPORT=${SOAK_REPORT:-$build/soak-report.json}
export PYTHONDONTWRITEBYTECODE=1
exec /usr/bin/python3 -m pytest -q -s -p no:cacheprovider "$here/test_soak.py"
