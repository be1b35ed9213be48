#!/usr/bin/env bash
# Configures and builds turnd with ASan+UBSan (TURND_SANITIZE=ON) in BUILD_DIR: the ctest fixture
# asan.build, which every asan.* test needs. Only the turnd target is built (no test suite), with
# the same C++ compiler as the outer build; ccache (if present) makes a rebuild cheap.
#   tests/asan/build_asan.sh SOURCE_DIR BUILD_DIR [CXX]
# Environment: JOBS (default 2: the CI machine has 2 cores).
set -euo pipefail
src=${1:?usage: build_asan.sh SOURCE_DIR BUILD_DIR [CXX]}
build_dir=${2:?usage: build_asan.sh SOURCE_DIR BUILD_DIR [CXX]}
cxx=${3:-c++}
start=$(date +%s)
if [[ ! -f $build_dir/build.ninja ]]; then
  mkdir -p "$build_dir"
  # -O1 -g1: ASan's recommended optimisation, line tables for the reports; both compile much
  # faster than -O2 -g on the 2-core CI machine.
  cmake -S "$src" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_CXX_COMPILER="$cxx" -DTURND_SANITIZE=ON \
    -DTURND_BUILD_TESTS=OFF
fi
cmake --build "$build_dir" -j "${JOBS:-2}" --target turnd
# The binary must really be instrumented: an uninstrumented one would pass every asan.* test.
symbols=$( (nm -D "$build_dir/server/turnd"; nm "$build_dir/server/turnd") 2>/dev/null || true)
if ! grep -q "__asan_init" <<<"$symbols" || ! grep -q "__ubsan_handle" <<<"$symbols"; then
  echo "build_asan: $build_dir/server/turnd carries no sanitizer runtime" >&2
  exit 1
fi
echo "build_asan: $build_dir/server/turnd built in $(( $(date +%s) - start )) s"
