#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS; exits non-zero on a crash.
#   tests/fuzz/run_fuzz.sh BUILD_DIR SECONDS [TARGET ...]
# TARGET: message framing config rest_username redis_reply admin_http web dispatcher (default: the
# first two; the others need the full tree, not the protocol-only fallback).
# BUILD_DIR is the clang build with TURND_FUZZ=ON that clang_build.sh configures and builds
# (shared with the asan.* tests' turnd). The committed corpus is copied to a temporary directory
# so new finds do not pollute it; crash inputs are kept in BUILD_DIR/fuzz-artifacts/.
# Environment: FUZZ_MAX_LEN (default 4096), FUZZ_ARGS (extra libFuzzer flags), FUZZ_WORK (a
# directory to keep the grown corpus in, TARGET/ under it, instead of a temporary one; see
# run_long.sh), FUZZ_SEED (a fixed libFuzzer seed: ctest sets one so that a CI run explores
# the same inputs every time and a red CI is a change in the code, not luck; run_long.sh
# leaves it unset to explore further). Each target uses tests/fuzz/TARGET.dict when there is one, else stun.dict
# for message and framing.
set -euo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 BUILD_DIR SECONDS [TARGET ...]" >&2
  exit 2
fi
build_dir=$1
seconds=$2
shift 2
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(message framing)

fuzz_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

"$fuzz_dir/clang_build.sh" "$build_dir" "${targets[@]/#/fuzz_}"

artifacts=$build_dir/fuzz-artifacts
mkdir -p "$artifacts"
if [[ -n ${FUZZ_WORK:-} ]]; then
  work=$FUZZ_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

status=0
for target in "${targets[@]}"; do
  binary=$(find "$build_dir" -type f -name "fuzz_$target" -perm -u+x | head -n 1)
  [[ -n $binary ]] || { echo "run_fuzz: fuzz_$target was not built" >&2; exit 1; }
  mkdir -p "$work/$target"
  cp "$fuzz_dir/corpus/$target/." "$work/$target/" -r
  dict=()
  if [[ -f $fuzz_dir/$target.dict ]]; then
    dict=(-dict="$fuzz_dir/$target.dict")
  elif [[ $target == message || $target == framing ]]; then
    dict=(-dict="$fuzz_dir/stun.dict")
  fi
  seed=()
  [[ -z ${FUZZ_SEED:-} ]] || seed=(-seed="$FUZZ_SEED")
  echo "run_fuzz: fuzz_$target for ${seconds}s ${seed[*]}"
  # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
  if ! "$binary" "$work/$target" -max_total_time="$seconds" "${dict[@]}" "${seed[@]}" \
      -max_len="${FUZZ_MAX_LEN:-4096}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$artifacts/$target-" ${FUZZ_ARGS:-}; then
    echo "run_fuzz: fuzz_$target FAILED; reproduce with: $binary $artifacts/$target-<crash file>" >&2
    echo "run_fuzz: then add the input to tests/fuzz/corpus/$target/ (fuzz.regress keeps it)" >&2
    status=1
  fi
done
exit $status
