#!/usr/bin/env bash
# perf13.sh — turnd vs coturn on the paths of issue 13: allocation rate, added latency, TURN over
# TCP, relay via a UDP peer, client to client with 2 threads. Runs interleaved and paired like
# compare.sh / tls-bench.sh; results in OUTDIR/results.jsonl and OUTDIR/report.md (report.py),
# figures in docs/BENCHMARKS.md "Issue 13: allocation rate, latency, TCP relay".
#
# Usage: tests/bench/perf13.sh [options] OUTDIR
#   -S SERIES  comma list of                                          [alloc,lat,tcp,peer,c2c2]
#                alloc  turnperf alloc: ALLOC_CONC complete long-term-credential allocations in
#                       flight (Allocate, 401, Allocate + MESSAGE-INTEGRITY, CreatePermission,
#                       Refresh 0), each from a fresh source port, ALLOC_SECS s after 1 s of
#                       warm-up: allocations/s and per server CPU-second; errors by code.
#                       Points (ALLOC_POINTS): t1 (1 server thread, pinned to CPU 1, client on
#                       CPU 0), t2 (2 server threads, nothing pinned)
#                lat    turnperf lat: LAT_ALLOCS allocations with a ChannelBind to the client's
#                       own UDP echo, LAT_RATES total msgs/s of 120-byte ChannelData for
#                       LAT_SECS s: RTT p50/p90/p99/p99.9, loss; and the same datagrams straight
#                       to a bare UDP echo in the server's place (server "echo": udpecho pinned
#                       to the server's CPU, turnperf -D): added = server - echo, per percentile,
#                       same point and repetition. 1 server thread. Points RATEk-Na. With
#                       LAT_FIFO=1 (default) server, echo and client run at SCHED_FIFO priority
#                       1 (chrt; the kernel's RT throttling leaves others 5 %): on a shared
#                       machine other jobs' time slices otherwise put 2-4 ms into every p99
#                tcp    turnutils_uclient -t via a UDP echo peer (turnutils_peer on PORT+2), 10 clients
#                       flooding (TCP_MSGS each): msgs per server CPU-s, loss. Point tcp-10p
#                peer   the same over UDP (compare.sh -c 10p, PEER_MSGS each). Point 10-peer
#                c2c2   client to client (uclient -y), 2 server threads (nothing pinned),
#                       C2C2_CLIENTS clients, C2C2_TOTAL messages. Points t2-M
#   -r REPS    repetitions (the servers alternate order by repetition)    [3]
#   -n NICE    nice level of the autogroups of clients and servers (run.sh -n) [0]
#   -p PORT    server port (UDP and TCP)                                  [3578]
#   -P         after the repetitions, profile turnd once per series (perf record -e cpu-clock,
#              4 s into the load): OUTDIR/perf/turnd-POINT.txt
#   -q         quick: 1 repetition, short loads (checks the set-up; figures not meaningful)
# Environment: TURND (binary; else built like run.sh in BUILD_DIR [REPO/build-bench]), TURND_REV,
#   TURNSERVER [turnserver], ALLOC_POINTS ["t1 t2"], ALLOC_CONC [64], ALLOC_SECS [5],
#   LAT_RATES ["5000 20000 50000"], LAT_ALLOCS ["10 100"], LAT_SECS [4], LAT_FIFO [1], TCP_MSGS [50000],
#   PEER_MSGS [100000], C2C2_CLIENTS ["10 100"], C2C2_TOTAL [1000000], REP_START [1],
#   BENCH_MIN_PORT/BENCH_MAX_PORT [49152/65535].
# Limits: turnd gets --max-connections-per-source 0 --max-connections 0
#   --max-unauthenticated-per-second 0 --max-unauthenticated-bytes-per-second 0 (its per-source
#   limits do not apply to loopback without --limit-loopback anyway); coturn has none
#   (--total-quota=0 --user-quota=0 --max-bps=0 from servers/coturn.sh). Both log at their
#   default level (turnd: info, a line per allocation; coturn: a log file, nothing per allocation).
# Loopback only; every load is bounded in count and time; only the servers this script starts
# (by PID, through the adapters) are stopped.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SERIES="alloc,lat,tcp,peer,c2c2"; REPS=3; NICE=0; PORT=3578; PERF=0; QUICK=0
ARGV=("$@")
usage() { sed -n '2,46p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "S:r:n:p:Pqh" o; do
  case $o in
    S) SERIES=$OPTARG;; r) REPS=$OPTARG;; n) NICE=$OPTARG;; p) PORT=$OPTARG;; P) PERF=1;; q) QUICK=1;;
    *) usage;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
OUT=$1
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
log() { echo "[$(date +%H:%M:%S)] perf13: $*" >&2; }
has() { [[ ",$SERIES," == *",$1,"* ]]; }
. "$HERE/lib.sh"
bench_nice "$NICE" "${ARGV[@]}"
for t in turnutils_uclient turnutils_peer cc python3 taskset ss chrt; do
  command -v "$t" >/dev/null || { log "$t not found (Debian: coturn gcc python3 util-linux iproute2)"; exit 2; }
done
command -v "${TURNSERVER:-turnserver}" >/dev/null || { log "coturn's turnserver not found (apt-get install coturn)"; exit 2; }

ALLOC_POINTS=${ALLOC_POINTS:-"t1 t2"}; ALLOC_CONC=${ALLOC_CONC:-64}; ALLOC_SECS=${ALLOC_SECS:-5}
LAT_RATES=${LAT_RATES:-"5000 20000 50000"}; LAT_ALLOCS=${LAT_ALLOCS:-"10 100"}; LAT_SECS=${LAT_SECS:-4}
LAT_FIFO=${LAT_FIFO:-1}
TCP_MSGS=${TCP_MSGS:-50000}; PEER_MSGS=${PEER_MSGS:-100000}
C2C2_CLIENTS=${C2C2_CLIENTS:-"10 100"}; C2C2_TOTAL=${C2C2_TOTAL:-1000000}; REP_START=${REP_START:-1}
if [ "$QUICK" = 1 ]; then
  REPS=1; ALLOC_SECS=1; LAT_SECS=1; TCP_MSGS=5000; PEER_MSGS=5000; C2C2_TOTAL=50000
fi

bench_turnd
BIN=$OUT/bin
mkdir -p "$BIN" "$OUT/raw"
cc -O2 -Wall -o "$BIN/turnperf" "$HERE/turnperf.c" -lcrypto || { log "cannot build turnperf (libssl-dev?)"; exit 1; }
{
  bench_machine
  echo "series: $SERIES; reps: $REP_START-$REPS; nice: $NICE; alloc: $ALLOC_POINTS, $ALLOC_CONC in flight," \
       "$ALLOC_SECS s; lat: rates $LAT_RATES x allocations $LAT_ALLOCS, $LAT_SECS s, SCHED_FIFO $LAT_FIFO;" \
       "tcp: 10 x $TCP_MSGS;" \
       "peer: 10 x $PEER_MSGS; c2c2: $C2C2_CLIENTS clients, $C2C2_TOTAL msgs; quick: $QUICK"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

export BENCH_PORT=$PORT BENCH_AUTH=rest BENCH_SECRET=${BENCH_SECRET:-bench-secret}
export BENCH_MIN_PORT=${BENCH_MIN_PORT:-49152} BENCH_MAX_PORT=${BENCH_MAX_PORT:-65535}
export TURND_EXTRA="--max-connections-per-source 0 --max-connections 0 --max-unauthenticated-per-second 0 --max-unauthenticated-bytes-per-second 0 ${TURND_EXTRA:-}"
RESULTS=$OUT/results.jsonl
AUTH=(-W "$BENCH_SECRET" -u bench)
CHRT=()

placement() {  # placement THREADS: BENCH_CPUS (server) and CLIENT_CPUS, as compare.sh does
  if [ "$1" -lt "$(nproc)" ]; then export BENCH_CPUS="1-$1"; CLIENT_CPUS=0; else export BENCH_CPUS=""; CLIENT_CPUS=""; fi
}
pin() { if [ -n "$CLIENT_CPUS" ]; then taskset -c "$CLIENT_CPUS" "$@"; else "$@"; fi; }
start_server() {  # start_server NAME THREADS -> PID on stdout (own run dir per server: logs kept)
  BENCH_THREADS=$2 BENCH_RUNDIR=${TMPDIR:-/tmp}/turn-bench/p13-$1-$PORT TURND=$TURND \
    "$HERE/servers/$1.sh" start | tail -1
}
stop_server() {
  BENCH_RUNDIR=${TMPDIR:-/tmp}/turn-bench/p13-$1-$PORT "$HERE/servers/$1.sh" stop
  sleep 0.5
}
check_alive() {  # check_alive NAME PID WHAT
  kill -0 "$2" 2>/dev/null || log "WARNING: $1 (pid $2) is gone after $3"
}
turnperf() {  # turnperf TAG RAWNAME ARGS...: one turnperf run, its JSON line appended to RESULTS
  local tag=$1 raw=$OUT/raw/$2; shift 2
  pin "${CHRT[@]}" "$BIN/turnperf" "$@" > "$raw.txt" 2> "$raw.err" || log "  turnperf exit $? ($tag; see $raw.txt)"
  python3 "$HERE/perf13.py" kv "$tag" "threads=${THREADS:-1}" "fifo=${#CHRT[@]}" "client_cmd=turnperf ${*//$BENCH_SECRET/***}" \
    < "$raw.txt" >> "$RESULTS"
  tail -1 "$RESULTS" | python3 -c 'import json,sys
d=json.loads(sys.stdin.read())
ks=("alloc_per_s","alloc_per_server_cpu_s","server_cpu_pct","errors_total","rtt_p50_us","rtt_p99_us","rtt_p999_us","loss_pct","client_cpu_pct")
print("   ", {k: d[k] for k in ks if d.get(k) is not None})' >&2
}

run_alloc() {  # run_alloc SERVER POINT REP
  local s=$1 point=$2 rep=$3 pid
  THREADS=${point#t}; placement "$THREADS"
  pid=$(start_server "$s" "$THREADS") || { log "$s did not start"; return 1; }
  sleep 0.5
  turnperf "$s/arate/$point/$rep" "$s-arate-$point-$rep" -p "$PORT" "${AUTH[@]}" -P "$pid" \
    -c "$ALLOC_CONC" -t "$ALLOC_SECS" -i 1 alloc
  check_alive "$s" "$pid" "alloc $point rep $rep"
  stop_server "$s"
}

lat_point() { echo "$(( $1 / 1000 ))k-$2a"; }
run_lat() {  # run_lat SERVER REP: every rate x allocations point on one server start
  local s=$1 rep=$2 pid="" r a args
  THREADS=1; placement 1
  # "echo": udpecho (servers/udpecho.sh) in the server's place, pinned to its CPU: the bare
  # client -> server CPU -> client round trip that a relay adds its work and a hop to
  pid=$(start_server "$([ "$s" = echo ] && echo udpecho || echo "$s")" 1) || { log "$s did not start"; return 1; }
  sleep 0.5
  CHRT=()
  if [ "$LAT_FIFO" = 1 ]; then  # every thread of the server and the client at SCHED_FIFO 1
    chrt -f -a -p 1 "$pid" > /dev/null || log "  chrt failed: $s runs at normal priority"
    CHRT=(chrt -f 1)
  fi
  for a in $LAT_ALLOCS; do
    for r in $LAT_RATES; do
      args=(-n "$a" -R "$r" -t "$LAT_SECS")
      if [ "$s" = echo ]; then args+=(-D -e "$PORT" -P "$pid"); else args+=(-p "$PORT" "${AUTH[@]}" -P "$pid"); fi
      log "  lat $s $(lat_point "$r" "$a")"
      turnperf "$s/lat/$(lat_point "$r" "$a")/$rep" "$s-lat-$(lat_point "$r" "$a")-$rep" "${args[@]}" lat
    done
  done
  CHRT=()
  check_alive "$s" "$pid" "lat rep $rep"
  stop_server "$([ "$s" = echo ] && echo udpecho || echo "$s")"
}

relay_load() {  # relay_load SERVER POINT REP THREADS turn-load args...: one turn-load.sh run
  local s=$1 point=$2 rep=$3 threads=$4 pid; shift 4
  THREADS=$threads; placement "$threads"
  pid=$(start_server "$s" "$threads") || { log "$s did not start"; return 1; }
  sleep 0.5
  "$HERE/turn-load.sh" -p "$PORT" "${AUTH[@]}" --server-pid "$pid" --client-cpus "$CLIENT_CPUS" --peer-port "$((PORT + 2))" \
    -l 120 -z 0 --timeout 240 --json --tag "$s/relay/$point/$rep" --raw "$OUT/raw/$s-relay-$point-$rep.txt" \
    "$@" >> "$RESULTS" || log "  turn-load.sh failed ($s $point rep $rep; see raw/)"
  tail -1 "$RESULTS" | python3 -c 'import json,sys
d=json.loads(sys.stdin.read()); c=d.get("server_cpu_pct") or 0; m=d.get("recv_rate_median_msgs_s") or 0
print("    msgs/s", m, "cpu", c, "per CPU-s", round(m / (c / 100)) if c else "-", "loss", d.get("loss_pct"))' >&2
  check_alive "$s" "$pid" "relay $point rep $rep"
  stop_server "$s"
}

SERVERS=(coturn turnd)
for rep in $(seq "$REP_START" "$REPS"); do
  order=("${SERVERS[@]}")
  [ $((rep % 2)) = 0 ] && order=(turnd coturn)
  if has alloc; then
    for point in $ALLOC_POINTS; do
      for s in "${order[@]}"; do log "rep $rep alloc $point $s"; run_alloc "$s" "$point" "$rep"; done
    done
  fi
  if has lat; then
    for s in "${order[@]}" echo; do log "rep $rep lat $s"; run_lat "$s" "$rep"; done
  fi
  if has tcp; then
    for s in "${order[@]}"; do
      log "rep $rep tcp $s"; relay_load "$s" tcp-10p "$rep" 1 --mode peer --tcp -m 10 -n "$TCP_MSGS"
    done
  fi
  if has peer; then
    for s in "${order[@]}"; do
      log "rep $rep peer $s"; relay_load "$s" 10-peer "$rep" 1 --mode peer -m 10 -n "$PEER_MSGS"
    done
  fi
  if has c2c2; then
    for m in $C2C2_CLIENTS; do
      for s in "${order[@]}"; do
        log "rep $rep c2c2 $m clients $s"
        relay_load "$s" "t2-$m" "$rep" 2 -m "$m" -n "$(( C2C2_TOTAL / (m + m % 2) ))"
      done
    done
  fi
done

# -P: turnd under each series once more, perf record for 4 s from 3 s into the load
perf_point() {  # perf_point NAME THREADS LOAD-COMMAND...  (the command gets the PID as $PID)
  local name=$1 threads=$2 pid load d=$OUT/perf; shift 2
  THREADS=$threads; placement "$threads"
  pid=$(start_server turnd "$threads") || return 1
  sleep 0.5
  PID=$pid "$@" > "$d/turnd-$name.load.txt" 2>&1 &
  load=$!
  sleep 3
  perf record -e cpu-clock -F 2000 -g -p "$pid" -o "$d/turnd-$name.data" -- sleep 4 > /dev/null 2>&1
  wait "$load"
  {
    echo "# turnd under $name: shared objects, then symbols (perf record -e cpu-clock -F 2000, 4 s)"
    perf report -i "$d/turnd-$name.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]'
    perf report -i "$d/turnd-$name.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null \
      | grep -E '^ +[0-9]' | sed 's/ \{2,\}/  /g' | head -60
  } > "$d/turnd-$name.txt"
  rm -f "$d/turnd-$name.data"
  stop_server turnd
}
perf_turnperf() { pin "$BIN/turnperf" -p "$PORT" "${AUTH[@]}" -P "$PID" "$@"; }
perf_relay() {
  "$HERE/turn-load.sh" -p "$PORT" "${AUTH[@]}" --server-pid "$PID" --client-cpus "$CLIENT_CPUS" --peer-port "$((PORT + 2))" \
    -l 120 -z 0 --timeout 120 --json "$@"
}
if [ "$PERF" = 1 ]; then
  if ! command -v perf > /dev/null; then
    log "perf not found: no profile"
  else
    mkdir -p "$OUT/perf"
    has alloc && { log "perf: alloc t1"; perf_point alloc-t1 1 perf_turnperf -c "$ALLOC_CONC" -t 9 -i 0 alloc; }
    has lat && { log "perf: lat 50k-100a"; perf_point lat-50k-100a 1 perf_turnperf -n 100 -R 50000 -t 9 lat; }
    has lat && { log "perf: lat 20k-10a"; perf_point lat-20k-10a 1 perf_turnperf -n 10 -R 20000 -t 9 lat; }
    has tcp && { log "perf: tcp"; perf_point tcp-10p 1 perf_relay --mode peer --tcp -m 10 -n $(( TCP_MSGS * 2 )); }
    has peer && { log "perf: peer"; perf_point 10-peer 1 perf_relay --mode peer -m 10 -n $(( PEER_MSGS * 2 )); }
  fi
fi

python3 "$HERE/perf13.py" added "$RESULTS"
python3 "$HERE/report.py" "$RESULTS" > "$OUT/report.md"
{
  echo "# turnd vs coturn, issue 13 — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo; echo '```'; cat "$OUT/machine.txt"; echo '```'
  cat "$OUT/report.md"
} > "$OUT/summary.md"
log "done: $OUT/summary.md"
