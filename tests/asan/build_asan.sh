#!/usr/bin/env bash
# Builds turnd with ASan+UBSan in BUILD_DIR: the ctest fixture asan.build, which every asan.*
# test needs. With clang (CXX ending in clang++) BUILD_DIR is the fuzzers' clang build
# (tests/fuzz/clang_build.sh), so CI compiles the server once for the fuzzers and the sanitized
# turnd together. That turnd also carries the fuzzers' coverage counters in turnd_protocol,
# turnd_auth and turnd_config: slower parsing, the same behaviour. With any other compiler a
# turnd-only build (TURND_SANITIZE=ON, -O1 -g1: ASan's recommended optimisation) is made.
# ccache (if present) makes a rebuild cheap.
#   tests/asan/build_asan.sh SOURCE_DIR BUILD_DIR [CXX]
# Environment: JOBS (default 2: the CI machine has 2 cores).
set -euo pipefail
src=${1:?usage: build_asan.sh SOURCE_DIR BUILD_DIR [CXX]}
build_dir=${2:?usage: build_asan.sh SOURCE_DIR BUILD_DIR [CXX]}
cxx=${3:-c++}
start=$(date +%s)
if [[ $cxx == *clang++ ]]; then
  JOBS=${JOBS:-2} "$src/tests/fuzz/clang_build.sh" "$build_dir" turnd
else
  if [[ ! -f $build_dir/build.ninja ]]; then
    mkdir -p "$build_dir"
    cmake -S "$src" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" -DCMAKE_CXX_COMPILER="$cxx" \
      -DTURND_SANITIZE=ON -DTURND_BUILD_TESTS=OFF
  fi
  cmake --build "$build_dir" -j "${JOBS:-2}" --target turnd
fi
# The binary must really be instrumented: an uninstrumented one would pass every asan.* test.
symbols=$( (nm -D "$build_dir/server/turnd"; nm "$build_dir/server/turnd") 2>/dev/null || true)
if ! grep -q "__asan_init" <<<"$symbols" || ! grep -q "__ubsan_handle" <<<"$symbols"; then
  echo "build_asan: $build_dir/server/turnd carries no sanitizer runtime" >&2
  exit 1
fi
echo "build_asan: $build_dir/server/turnd built in $(( $(date +%s) - start )) s"
