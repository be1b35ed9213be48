#!/usr/bin/env bash
# Configures (once) and builds the clang build with ASan+UBSan and libFuzzer (TURND_FUZZ=ON) in
# BUILD_DIR, then builds TARGET...: the fuzzers for run_fuzz.sh, and turnd itself for the asan.*
# tests (tests/asan/build_asan.sh). One sanitized build serves both, so CI compiles the server
# twice (release, sanitized) instead of three times.
#   tests/fuzz/clang_build.sh BUILD_DIR TARGET...
# -O1 -gline-tables-only are OSS-Fuzz's flags: fast to compile on the 2-core CI machine, line
# numbers in every report. When the full tree does not configure (parts of it in progress), the
# protocol-only project in tests/fuzz/standalone is used instead (fuzz_message, fuzz_framing).
# Environment: JOBS (default: ninja's).
set -euo pipefail
build_dir=${1:?usage: clang_build.sh BUILD_DIR TARGET...}
shift
[[ $# -gt 0 ]] || { echo "usage: clang_build.sh BUILD_DIR TARGET..." >&2; exit 2; }

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$fuzz_dir/../.." && pwd)

configure() {
  CC=clang CXX=clang++ cmake -S "$1" -B "$build_dir" -G Ninja -DTURND_FUZZ=ON \
    -DTURND_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    >"$build_dir.configure.log" 2>&1
}

if [[ ! -f $build_dir/build.ninja ]]; then
  mkdir -p "$build_dir"
  if ! configure "$repo"; then
    echo "clang_build: the full tree does not configure (see $build_dir.configure.log);" \
         "using tests/fuzz/standalone" >&2
    rm -rf "$build_dir/CMakeCache.txt" "$build_dir/CMakeFiles"
    configure "$fuzz_dir/standalone" || { cat "$build_dir.configure.log" >&2; exit 1; }
  fi
fi
jobs=()
[[ -z ${JOBS:-} ]] || jobs=(-j "$JOBS")
cmake --build "$build_dir" "${jobs[@]}" --target "$@"
