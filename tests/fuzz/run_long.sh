#!/usr/bin/env bash
# A long fuzzing run of one target, keeping what it grows:
#   tests/fuzz/run_long.sh TARGET HOURS [BUILD_DIR]
# TARGET as for run_fuzz.sh (message framing config rest_username redis_reply admin_http web
# dispatcher). BUILD_DIR (default build-fuzz-long beside the sources) is a clang TURND_FUZZ=ON
# build, configured if needed. The grown corpus is kept in BUILD_DIR/fuzz-work/TARGET and crash
# inputs in BUILD_DIR/fuzz-artifacts/. Afterwards, fold new coverage into the committed corpus
# with a merge (adds only inputs that add coverage):
#   BUILD_DIR/tests/fuzz/fuzz_TARGET -merge=1 tests/fuzz/corpus/TARGET BUILD_DIR/fuzz-work/TARGET
# and commit the new files. Runs one process per core you allow with FUZZ_JOBS (default 1):
# libFuzzer's -fork=N shares one corpus between N workers.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 TARGET HOURS [BUILD_DIR]" >&2
  exit 2
fi
target=$1
hours=$2
fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir=${3:-$fuzz_dir/../../build-fuzz-long}
seconds=$(awk -v h="$hours" 'BEGIN { printf "%d", h * 3600 }')
jobs=${FUZZ_JOBS:-1}
extra=""
[[ $jobs -gt 1 ]] && extra="-fork=$jobs -ignore_crashes=0"
echo "run_long: fuzz_$target for ${hours}h (${seconds}s), $jobs job(s), corpus kept in $build_dir/fuzz-work/$target"
FUZZ_WORK=$build_dir/fuzz-work FUZZ_ARGS="${FUZZ_ARGS:-} $extra" \
  exec "$fuzz_dir/run_fuzz.sh" "$build_dir" "$seconds" "$target"
