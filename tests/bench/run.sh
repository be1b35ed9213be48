#!/usr/bin/env bash
# run.sh — turnd vs coturn on loopback: builds turnd (or takes TURND=path), builds the load tools
# and runs the comparison phases of docs/BENCHMARKS.md, writing everything under OUTDIR.
#
# Usage: tests/bench/run.sh [options] OUTDIR
#   -P PHASES  comma list of phases                                    [aa,t1,t2]
#                aa  A/A noise floor: coturn against itself (stun, relay -c 10, alloc 16x60),
#                    short loads, 2 repetitions (~6 min)
#                t1  coturn vs turnd, 1 server thread, udpecho ceiling, series stun, relay
#                    (1, 10, 100 clients), alloc (ALLOC_POINTS)             (~20-25 min at -r 3)
#                t2  coturn vs turnd, 2 server threads, stun series with the ceiling (~3 min)
#                s1  coturn vs turnd, 1 server thread, stun series only (no ceiling)
#                r1  coturn vs turnd, 1 server thread, relay series only, RELAY_CLIENTS
#                    (a re-check of the relay path after a change; ~5 min at -r 2)
#   -r REPS    repetitions for t1, t2, s1 and r1                         [3]
#   -p PORT    server port                                               [3578]
#   -n NICE    run the clients and servers at this nice level (as nice of their scheduler
#              autogroups); a negative level (root) keeps other jobs on a shared machine from
#              taking the servers' and clients' CPU                    [0]
#   -q         quick: short loads, 1 repetition (checks the set-up; figures not meaningful)
# Environment:
#   TURND       turnd binary to measure (skips the build); TURND_REV labels it in machine.txt
#   TURND_BEFORE  a second turnd binary (e.g. the commit before a change), measured as
#               "turnd-before" in every phase but aa, in the same runs as turnd; the order of
#               the two alternates by repetition; TURND_BEFORE_REV labels it
#   TURND_SRC   source tree to build turnd from                          [this repository]
#   BUILD_DIR   build directory for that build                           [TURND_SRC/build-bench]
#   TURNSERVER  coturn's turnserver binary                                [turnserver]
#   ALLOC_POINTS  alloc runs, P procs x M clients (~1.5 allocations per client) ["14x500 16x60"]
#   BENCH_MIN_PORT/BENCH_MAX_PORT  relay port range of both servers      [49152/65535]
#   QUIET_PCT   compare.sh waits (<= 10 s) before each run until other processes use less than
#               this % of one core                                      [25]
#   RELAY_CLIENTS  client counts of phase r1; "10p": 10 clients via a UDP echo peer ["10 100"]
#   STUN_ARGS, FLOOD_TOTAL: passed to compare.sh (see compare.sh -h)
# Output: OUTDIR/machine.txt, OUTDIR/PHASE/{results.jsonl,report.md,raw/}, OUTDIR/summary.md.
# Loopback only; every load is bounded; only the servers this script starts are stopped.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PHASES="aa,t1,t2"; REPS=3; PORT=3578; NICE=0; QUICK=0
ARGV=("$@")
usage() { sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "P:r:p:n:qh" o; do
  case $o in
    P) PHASES=$OPTARG;; r) REPS=$OPTARG;; p) PORT=$OPTARG;; n) NICE=$OPTARG;; q) QUICK=1;; *) usage;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
OUT=$1
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
log() { echo "[$(date +%H:%M:%S)] run.sh: $*" >&2; }
has() { [[ ",$PHASES," == *",$1,"* ]]; }
. "$HERE/lib.sh"
bench_nice "$NICE" "${ARGV[@]}"

# ---- turnd ----
bench_turnd
if [ -n "${TURND_BEFORE:-}" ]; then
  [ -x "$TURND_BEFORE" ] || { log "no turnd binary at TURND_BEFORE=$TURND_BEFORE"; exit 1; }
  TURND_BEFORE=$(cd "$(dirname "$TURND_BEFORE")" && pwd)/$(basename "$TURND_BEFORE")
fi
command -v "${TURNSERVER:-turnserver}" >/dev/null || { log "coturn's turnserver not found (apt-get install coturn)"; exit 1; }

# ---- load tools (compare.sh rebuilds them too; build here to fail early) ----
export BENCH_BIN="${BENCH_BIN:-${TMPDIR:-/tmp}/turn-bench/bin}"
mkdir -p "$BENCH_BIN"
cc -O2 -Wall -o "$BENCH_BIN/stunflood" "$HERE/stunflood.c" \
  && cc -O2 -Wall -pthread -o "$BENCH_BIN/udpecho" "$HERE/udpecho.c" || { log "cannot build the load tools"; exit 1; }

# ---- machine ----
{
  bench_machine
  [ -n "${TURND_BEFORE:-}" ] && echo "turnd-before: $TURND_BEFORE ($("$TURND_BEFORE" --version 2>&1 | head -1)), source ${TURND_BEFORE_REV:-?}"
  echo "nice: $NICE; phases: $PHASES; reps: $REPS; quick: $QUICK"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

export BENCH_MIN_PORT=${BENCH_MIN_PORT:-49152} BENCH_MAX_PORT=${BENCH_MAX_PORT:-65535}
export ALLOC_POINTS=${ALLOC_POINTS:-"14x500 16x60"}
COTURN="coturn=servers/coturn.sh"
TURNDX=(-x "turnd=env TURND=$TURND servers/turnd.sh")
if [ -n "${TURND_BEFORE:-}" ]; then  # its own run dir, so the two servers' logs are both kept
  TURNDX=(-x "turnd-before=env TURND=$TURND_BEFORE BENCH_RUNDIR=${TMPDIR:-/tmp}/turn-bench/turnd-before-$PORT servers/turnd.sh"
          "${TURNDX[@]}" -A)
fi
compare() { "$HERE/compare.sh" -p "$PORT" "$@"; }
quick_env() {  # short loads for -q
  export STUN_ARGS="-t 2 -n 1000000 -w 128 -b 32 -S 8" FLOOD_TOTAL=100000 ALLOC_POINTS="4x100"
}

if has aa; then
  log "phase aa: coturn vs coturn (noise floor)"
  (
    export STUN_ARGS=${STUN_ARGS:-"-t 4 -n 4000000 -w 128 -b 32 -S 8"} ALLOC_POINTS="16x60"
    [ "$QUICK" = 1 ] && quick_env
    r=2; [ "$QUICK" = 1 ] && r=1
    compare -x "$COTURN" -x "coturn2=servers/coturn.sh" -S stun,relay,alloc -c 10 -r "$r" -o "$OUT/aa"
  )
fi
if has t1; then
  log "phase t1: coturn vs turnd, 1 thread"
  (
    r=$REPS; [ "$QUICK" = 1 ] && { quick_env; r=1; }
    compare -x "$COTURN" "${TURNDX[@]}" -C -t 1 -r "$r" -o "$OUT/t1"
  )
fi
if has t2; then
  log "phase t2: coturn vs turnd, 2 threads, stun"
  (
    r=$REPS; [ "$QUICK" = 1 ] && { quick_env; r=1; }
    compare -x "$COTURN" "${TURNDX[@]}" -C -t 2 -S stun -r "$r" -o "$OUT/t2"
  )
fi
if has s1; then
  log "phase s1: coturn vs turnd, 1 thread, stun"
  (
    r=$REPS; [ "$QUICK" = 1 ] && { quick_env; r=1; }
    compare -x "$COTURN" "${TURNDX[@]}" -t 1 -S stun -r "$r" -o "$OUT/s1"
  )
fi
if has r1; then
  log "phase r1: coturn vs turnd, 1 thread, relay"
  (
    r=$REPS; [ "$QUICK" = 1 ] && { quick_env; r=1; }
    compare -x "$COTURN" "${TURNDX[@]}" -t 1 -S relay -c "${RELAY_CLIENTS:-10 100}" -r "$r" -o "$OUT/r1"
  )
fi

{
  echo "# turnd vs coturn — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo; echo '```'; cat "$OUT/machine.txt"; echo '```'
  for p in aa t1 t2 s1 r1; do
    [ -s "$OUT/$p/report.md" ] || continue
    echo; echo "## phase $p"; cat "$OUT/$p/report.md"
  done
} > "$OUT/summary.md"
log "done: $OUT/summary.md"
