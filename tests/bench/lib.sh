# lib.sh — shell functions shared by run.sh and tls-bench.sh (sourced, not run). They expect
# HERE (this folder), REPO (the repository), OUT (the results folder) and log() to be defined.

# bench_nice NICE ARGS...: with NICE != 0, run this script in a scheduler autogroup of its own
# at nice NICE (re-executes "$0" ARGS... under setsid once). With
# kernel.sched_autogroup_enabled=1 a nice value only counts inside its session's autogroup; the
# adapters and turn-load.sh do the same for the servers and uclient, which start sessions of
# their own (they read BENCH_NICE).
bench_nice() {
  local nice=$1; shift
  [ "$nice" != 0 ] || return 0
  if [ -z "${BENCH_RUN_SETSID:-}" ] && [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null)" = 1 ]; then
    BENCH_RUN_SETSID=1 exec setsid --wait "$0" "$@"
  fi
  echo "$nice" > /proc/self/autogroup 2>/dev/null
  renice -n "$nice" -p $$ > /dev/null 2>&1
  export BENCH_NICE=$nice
}

# bench_turnd: TURND = the binary to measure, as an absolute path. Unless TURND is set, builds
# turnd (Release, -Werror off: a benchmark build must not fail on a compiler's new warning) from
# TURND_SRC [REPO] in BUILD_DIR [TURND_SRC/build-bench] and sets BUILT=1 and SRC. Exits on failure.
bench_turnd() {
  BUILT=""
  if [ -z "${TURND:-}" ]; then
    BUILT=1
    SRC=${TURND_SRC:-$REPO}
    BUILD_DIR=${BUILD_DIR:-$SRC/build-bench}
    log "building turnd (Release) from $SRC in $BUILD_DIR"
    cmake -S "$SRC" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTURND_BUILD_TESTS=OFF \
        -DTURND_WERROR=OFF > "$OUT/build.log" 2>&1 \
      && cmake --build "$BUILD_DIR" --target turnd >> "$OUT/build.log" 2>&1 \
      || { tail -30 "$OUT/build.log" >&2; log "turnd build failed (log $OUT/build.log)"; exit 1; }
    TURND=$BUILD_DIR/server/turnd
  fi
  [ -x "$TURND" ] || { log "no turnd binary at $TURND"; exit 1; }
  TURND=$(cd "$(dirname "$TURND")" && pwd)/$(basename "$TURND")
}

# bench_machine: the machine and the servers, one "key: value" line each (for machine.txt).
bench_machine() {
  echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "kernel: $(uname -sr)"
  echo "memory: $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "turnd: $TURND ($("$TURND" --version 2>&1 | head -1))"
  if [ -n "$BUILT" ]; then
    echo "turnd source: $(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo '?')$(git -C "$SRC" status --porcelain -- . ':!tests' ':!docs' 2>/dev/null | grep -q . && echo ' + local changes in the work tree')"
  else
    echo "turnd source: ${TURND_REV:-binary given as TURND (set TURND_REV to label it)}"
  fi
  echo "coturn: $(dpkg-query -W -f '${Version}' coturn 2>/dev/null || echo '?') ($(command -v "${TURNSERVER:-turnserver}"))"
  echo "compiler: $(cc --version | head -1)"
}
