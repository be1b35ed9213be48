#!/usr/bin/env bash
# tcprelay-bench.sh — RFC 6062 TCP relaying, turnd vs coturn: relayed bytes per server
# CPU-second with coturn's turnutils_uclient -T. Paired and interleaved like perf13.sh (the order
# of the servers swaps every repetition); results in OUTDIR/results.jsonl, OUTDIR/report.md and
# OUTDIR/summary.md, figures in docs/BENCHMARKS.md "RFC 6062 TCP relay".
#
# uclient -T (it implies -y -c -t): each pair of clients holds two TCP allocations over TCP
# control connections; one Connects to the other's relayed address, which is offered with a
# ConnectionAttempt and bound with ConnectionBind; then both send their messages. Every byte
# crosses the server twice: client data connection -> peer connection -> (loopback) -> the other
# allocation's accepted peer connection -> its client data connection. "Relayed bytes" are the
# bytes the clients received (uclient's tot_recv_bytes).
#
# Usage: tests/bench/tcprelay-bench.sh [options] OUTDIR
#   -r REPS    repetitions (the servers alternate order by repetition)          [3]
#   -n NICE    nice level of the autogroups of clients and servers (run.sh -n)   [0]
#   -p PORT    server port (TCP; UDP for the adapters' readiness probe)         [3578]
#   -t THREADS server threads; 1 = server pinned to CPU 1, uclient to CPU 0      [1]
#   -q         quick: 1 repetition, one tiny point (bench.tcp_relay_smoke; figures meaningless)
# Environment: TURND (binary; else built like run.sh in BUILD_DIR [REPO/build-bench]), TURND_REV,
#   TURNSERVER [turnserver], TCP_POINTS ["10:1000:5000 50:1000:2000 10:16000:500"]: each point
#   CLIENTS:MSG_BYTES:MSGS_PER_CLIENT (uclient -m -l -n, -z 0: no pause between messages),
#   BENCH_MIN_PORT/BENCH_MAX_PORT [49152/65535], BENCH_SERVERS ["coturn turnd"] (adapters in
#   servers/, in this order on odd repetitions, reversed on even ones).
# Limits: turnd gets --max-connections-per-source 0 --max-connections 0
#   --max-unauthenticated-per-second 0 --max-unauthenticated-bytes-per-second 0 (per-source and
#   total connection limits off; they do not apply to loopback without --limit-loopback anyway)
#   and --max-tcp-connections-per-allocation stays at its default (64; uclient uses 1);
#   coturn gets --total-quota=0 --user-quota=0 --max-bps=0 (servers/coturn.sh). Both log at their
#   default level (turnd: info; coturn: a log file).
# Loopback only; every load is bounded in count and time (uclient sends a fixed number of
# messages, each run has a 600 s timeout); only the servers this script starts (by PID, through
# the adapters) are stopped.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
REPS=3; NICE=0; PORT=3578; THREADS=1; QUICK=0
ARGV=("$@")
usage() { sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "r:n:p:t:qh" o; do
  case $o in
    r) REPS=$OPTARG;; n) NICE=$OPTARG;; p) PORT=$OPTARG;; t) THREADS=$OPTARG;; q) QUICK=1;;
    *) usage;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
OUT=$1
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
log() { echo "[$(date +%H:%M:%S)] tcprelay-bench: $*" >&2; }
. "$HERE/lib.sh"
bench_nice "$NICE" "${ARGV[@]}"
for t in turnutils_uclient python3 taskset; do
  command -v "$t" >/dev/null || { log "$t not found (Debian: coturn python3 util-linux)"; exit 2; }
done
command -v "${TURNSERVER:-turnserver}" >/dev/null || { log "coturn's turnserver not found (apt-get install coturn)"; exit 2; }

TCP_POINTS=${TCP_POINTS:-"10:1000:5000 50:1000:2000 10:16000:500"}
if [ "$QUICK" = 1 ]; then REPS=1; TCP_POINTS="2:1000:200"; fi

bench_turnd
mkdir -p "$OUT/raw"
{
  bench_machine
  echo "reps: $REPS; nice: $NICE; server threads: $THREADS; points (clients:bytes:msgs): $TCP_POINTS; quick: $QUICK"
  echo "turnd limits: --max-connections-per-source 0 --max-connections 0 --max-unauthenticated-per-second 0 --max-unauthenticated-bytes-per-second 0"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

export BENCH_PORT=$PORT BENCH_AUTH=rest BENCH_SECRET=${BENCH_SECRET:-bench-secret}
export BENCH_MIN_PORT=${BENCH_MIN_PORT:-49152} BENCH_MAX_PORT=${BENCH_MAX_PORT:-65535}
export TURND_EXTRA="--max-connections-per-source 0 --max-connections 0 --max-unauthenticated-per-second 0 --max-unauthenticated-bytes-per-second 0 ${TURND_EXTRA:-}"
RESULTS=$OUT/results.jsonl
: > "$RESULTS.tmp"; [ -f "$RESULTS" ] && cat "$RESULTS" > "$RESULTS.tmp"; mv "$RESULTS.tmp" "$RESULTS"
if [ "$THREADS" -lt "$(nproc)" ]; then export BENCH_CPUS="1-$THREADS"; CLIENT_CPUS=0; else export BENCH_CPUS=""; CLIENT_CPUS=""; fi
FAILED=0

run_point() {  # run_point SERVER POINT REP
  local s=$1 point=$2 rep=$3 pid m l n rundir=${TMPDIR:-/tmp}/turn-bench/tcprelay-$1-$PORT
  IFS=: read -r m l n <<< "$point"
  pid=$(BENCH_THREADS=$THREADS BENCH_RUNDIR=$rundir TURND=$TURND "$HERE/servers/$s.sh" start | tail -1) \
    || { log "$s did not start"; FAILED=1; return 1; }
  sleep 0.5
  python3 "$HERE/tcprelay_bench.py" run --pid "$pid" --tag "$s/m$m-l$l/$rep" \
    --raw "$OUT/raw/$s-m$m-l$l-$rep.txt" -- \
    "${CLIENT_WRAP[@]}" turnutils_uclient -T -m "$m" -l "$l" -n "$n" -z 0 -W "$BENCH_SECRET" -u bench \
    -p "$PORT" 127.0.0.1 >> "$RESULTS" || { log "  run failed ($s m$m-l$l rep $rep)"; FAILED=1; }
  sed -i "s/$BENCH_SECRET/***/g" "$RESULTS"
  tail -1 "$RESULTS" | python3 -c 'import json,sys
d=json.loads(sys.stdin.read()); b=d.get("bytes_per_server_cpu_s")
print("    recv MB", round((d.get("recv_bytes") or 0)/1e6, 1), "server CPU-s", d["server_cpu_s"],
      "MB per CPU-s", round(b/1e6, 1) if b else "-", "loss %", d["loss_pct"], "uclient rc", d["uclient_rc"])' >&2
  kill -0 "$pid" 2>/dev/null || { log "WARNING: $s (pid $pid) is gone after m$m-l$l rep $rep"; FAILED=1; }
  BENCH_RUNDIR=$rundir "$HERE/servers/$s.sh" stop
  sleep 0.5
}

CLIENT_WRAP=()
[ -n "$CLIENT_CPUS" ] && CLIENT_WRAP=(taskset -c "$CLIENT_CPUS")
read -r -a SERVERS <<< "${BENCH_SERVERS:-coturn turnd}"
for rep in $(seq 1 "$REPS"); do
  order=("${SERVERS[@]}")
  if [ $((rep % 2)) = 0 ]; then order=(); for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do order+=("${SERVERS[$i]}"); done; fi
  for point in $TCP_POINTS; do
    for s in "${order[@]}"; do log "rep $rep $point $s"; run_point "$s" "$point" "$rep"; done
  done
done

python3 "$HERE/tcprelay_bench.py" report "$RESULTS" > "$OUT/report.md"
{
  echo "# RFC 6062 TCP relay, turnd vs coturn — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo; echo '```'; cat "$OUT/machine.txt"; echo '```'
  cat "$OUT/report.md"
} > "$OUT/summary.md"
cat "$OUT/report.md" >&2
log "done: $OUT/summary.md"
exit "$FAILED"
