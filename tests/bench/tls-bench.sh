#!/usr/bin/env bash
# tls-bench.sh — turnd vs coturn over TLS and DTLS (issue 12), 1 server thread each, runs
# interleaved and paired like compare.sh; results in OUTDIR/results.jsonl and OUTDIR/report.md
# (report.py), figures in docs/BENCHMARKS.md "TLS and DTLS (issue 12)".
#
# Usage: tests/bench/tls-bench.sh [options] OUTDIR
#   -S SERIES  comma list of                                                 [relay,hs,mem]
#                relay  relayed msgs per server CPU-second via a UDP echo peer (turnutils_peer),
#                       turnutils_uclient -S (-t: TLS; without: DTLS) -m RELAY_CLIENTS -n RELAY_MSGS
#                       -l 120 -z 0, REST credentials; points tls-10p, dtls-10p
#                hs     full handshakes (tlsconn rate: HS_PAR connections at a time, each a full
#                       handshake, one Binding round trip, close) for HS_SECS s; server CPU-ms per
#                       handshake. Points: tls (what a default OpenSSL client gets: turnd TLS 1.3,
#                       coturn 4.6.1 at most TLS 1.2), tls12 (both TLS 1.2,
#                       ECDHE-ECDSA-AES128-GCM-SHA256, P-256: the same work), tls12-rsa (same
#                       with an RSA-2048 certificate: the server's signature dominates), dtls
#                mem    KiB of server RSS per idle connection: MEM_CONNS connections, each after
#                       its handshake and one Binding round trip, held open (tlsconn hold), RSS
#                       before/after on a fresh server. Points tls, tls12, dtls
#   -r REPS    repetitions (servers alternate order by repetition)           [3]
#   -n NICE    nice level of the autogroups of clients and servers (run.sh -n) [0]
#   -p PORT    UDP/TCP port (plain; answers the start-up Binding)            [3578]
#   -T PORT    TLS and DTLS port (both servers: TCP and UDP)                 [5349]
#   -P         also profile turnd (perf record -g, perf stat syscalls) during the tls-10p and
#              dtls-10p relay loads: OUTDIR/perf-*.txt
#   -q         quick: 1 repetition, short loads (checks the set-up; figures not meaningful)
# Environment: TURND (binary; else built like run.sh in BUILD_DIR [REPO/build-bench]), TURND_REV,
#   TURNSERVER [turnserver], RELAY_CLIENTS [10], RELAY_MSGS [50000 per client], HS_SECS [8],
#   HS_PAR [8], MEM_CONNS [2000], BENCH_MIN_PORT/BENCH_MAX_PORT [49152/65535].
# Placement: server pinned to CPU 1, clients (uclient, turnutils_peer, tlsconn) to CPU 0 when
#   there are 2+ CPUs. Per-source limits are off: turnd --max-connections-per-source 0
#   --max-connections 0 (servers/turnd.sh with BENCH_TLS_PORT), coturn has none by default
#   (--total-quota=0 --user-quota=0 --max-bps=0 from servers/coturn.sh).
# Certificates: self-signed, made here with openssl (EC P-256; RSA 2048 for tls12-rsa).
# Loopback only; every load is bounded in count and time; only the servers this script starts
# (by PID, through the adapters) are stopped.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SERIES="relay,hs,mem"; REPS=3; NICE=0; PORT=3578; TLS_PORT=5349; PERF=0; QUICK=0
ARGV=("$@")
usage() { sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while getopts "S:r:n:p:T:Pqh" o; do
  case $o in
    S) SERIES=$OPTARG;; r) REPS=$OPTARG;; n) NICE=$OPTARG;; p) PORT=$OPTARG;; T) TLS_PORT=$OPTARG;;
    P) PERF=1;; q) QUICK=1;; *) usage;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
OUT=$1
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
log() { echo "[$(date +%H:%M:%S)] tls-bench: $*" >&2; }
has() { [[ ",$SERIES," == *",$1,"* ]]; }
. "$HERE/lib.sh"
bench_nice "$NICE" "${ARGV[@]}"
for t in turnutils_uclient turnutils_peer openssl cc python3 taskset ss; do
  command -v "$t" >/dev/null || { log "$t not found (Debian: coturn openssl gcc python3 util-linux iproute2)"; exit 2; }
done
command -v "${TURNSERVER:-turnserver}" >/dev/null || { log "coturn's turnserver not found (apt-get install coturn)"; exit 2; }

RELAY_CLIENTS=${RELAY_CLIENTS:-10}; RELAY_MSGS=${RELAY_MSGS:-50000}
HS_SECS=${HS_SECS:-8}; HS_PAR=${HS_PAR:-8}; MEM_CONNS=${MEM_CONNS:-2000}
if [ "$QUICK" = 1 ]; then REPS=1; RELAY_MSGS=5000; HS_SECS=2; MEM_CONNS=200; fi

# ---- turnd (TURND, or built like run.sh) ----
bench_turnd

# ---- client, certificates ----
BIN=$OUT/bin; CERTS=$OUT/certs
mkdir -p "$BIN" "$CERTS" "$OUT/raw"
cc -O2 -Wall -o "$BIN/tlsconn" "$HERE/tlsconn.c" -lssl -lcrypto || { log "cannot build tlsconn (libssl-dev?)"; exit 1; }
mkcert() {  # mkcert NAME KEYARGS...
  [ -s "$CERTS/$1-cert.pem" ] && return 0
  openssl req -x509 -nodes -days 30 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$CERTS/$1-key.pem" \
    -out "$CERTS/$1-cert.pem" "${@:2}" 2>/dev/null || { log "openssl req failed"; exit 1; }
}
mkcert ec -newkey ec -pkeyopt ec_paramgen_curve:prime256v1
mkcert rsa -newkey rsa:2048

# ---- machine ----
{
  bench_machine
  echo "openssl: $(openssl version)"
  echo "series: $SERIES; reps: $REPS; nice: $NICE; relay: $RELAY_CLIENTS clients x $RELAY_MSGS msgs;" \
       "hs: $HS_PAR parallel, $HS_SECS s; mem: $MEM_CONNS connections; quick: $QUICK"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

export BENCH_PORT=$PORT BENCH_THREADS=1 BENCH_AUTH=rest BENCH_TLS_PORT=$TLS_PORT
export BENCH_MIN_PORT=${BENCH_MIN_PORT:-49152} BENCH_MAX_PORT=${BENCH_MAX_PORT:-65535}
CLIENT_CPUS=""
if [ "$(nproc)" -ge 2 ]; then export BENCH_CPUS=1; CLIENT_CPUS=0; else export BENCH_CPUS=""; fi
pin() { if [ -n "$CLIENT_CPUS" ]; then taskset -c "$CLIENT_CPUS" "$@"; else "$@"; fi; }
RESULTS=$OUT/results.jsonl

adapter() {  # adapter NAME start|stop  (own run dir per server, so both logs are kept)
  local name=$1; shift
  BENCH_RUNDIR=${TMPDIR:-/tmp}/turn-bench/tls-$name-$PORT TURND=$TURND "$HERE/servers/$name.sh" "$@"
}
start_server() {  # start_server NAME CERTNAME -> PID on stdout
  local pid
  pid=$(BENCH_TLS_CERT=$CERTS/$2-cert.pem BENCH_TLS_KEY=$CERTS/$2-key.pem adapter "$1" start | tail -1) || return 1
  for _ in $(seq 1 50); do  # the TLS listener too (TCP), not only the Binding on the plain port
    ss -Hltn "sport = :$TLS_PORT" | grep -q . && break
    sleep 0.1
  done
  echo "$pid"
}
stop_server() { adapter "$1" stop; sleep 0.5; }

kv2json() {  # kv2json TAG < key=value lines -> one JSON line with derived figures
  python3 -c '
import json, sys
r = {"tag": sys.argv[1]}
for line in sys.stdin:
    k, _, v = line.strip().partition("=")
    if not k: continue
    try: r[k] = int(v)
    except ValueError:
        try: r[k] = float(v)
        except ValueError: r[k] = v
if r.get("mode") == "hold" and r.get("held"):
    for m in ("rss", "pss"):
        b, h = r.get(f"server_{m}_kb_before"), r.get(f"server_{m}_kb_held")
        if isinstance(b, int) and isinstance(h, int) and b >= 0 and h >= 0:
            r[f"kib_per_conn_{m}"] = round((h - b) / r["held"], 2)
print(json.dumps(r))' "$1"
}

run_relay() {  # run_relay SERVER POINT REP
  local s=$1 point=$2 rep=$3 pid extra=()
  case $point in tls-*) extra=(--tcp);; esac
  pid=$(start_server "$s" ec) || { log "$s did not start"; return 1; }
  "$HERE/turn-load.sh" -p "$TLS_PORT" -W "${BENCH_SECRET:-bench-secret}" -u bench --server-pid "$pid" \
    --client-cpus "$CLIENT_CPUS" --mode peer "${extra[@]}" --secure -m "$RELAY_CLIENTS" -n "$RELAY_MSGS" \
    -l 120 -z 0 --timeout 240 --json --tag "$s/relay/$point/$rep" --raw "$OUT/raw/$s-relay-$point-$rep.txt" \
    >> "$RESULTS" || log "relay $s $point rep $rep: turn-load.sh failed (see raw/)"
  kill -0 "$pid" 2>/dev/null || log "WARNING: $s (pid $pid) is gone after relay $point rep $rep"
  stop_server "$s"
}

hs_args() {  # client options and certificate of a handshake / memory point
  case $1 in
    tls) echo "ec";;
    tls12) echo "ec -V 1.2 -g P-256 -C ECDHE-ECDSA-AES128-GCM-SHA256";;
    tls12-rsa) echo "rsa -V 1.2 -g P-256 -C ECDHE-RSA-AES128-GCM-SHA256";;
    dtls) echo "ec -u";;
  esac
}

run_tlsconn() {  # run_tlsconn SERIES SERVER POINT REP
  local series=$1 s=$2 point=$3 rep=$4 pid args cert mode
  args=$(hs_args "$point"); cert=${args%% *}; args=${args#"$cert"}
  pid=$(start_server "$s" "$cert") || { log "$s did not start"; return 1; }
  # shellcheck disable=SC2086
  if [ "$series" = hs ]; then
    pin "$BIN/tlsconn" -p "$TLS_PORT" -P "$pid" $args -c "$HS_PAR" -w 1 -t "$HS_SECS" -T 60 rate
  else
    pin "$BIN/tlsconn" -p "$TLS_PORT" -P "$pid" $args -n "$MEM_CONNS" -c 32 -H 3 -S 1 -T 120 hold
  fi > "$OUT/raw/$s-$series-$point-$rep.txt" 2> "$OUT/raw/$s-$series-$point-$rep.err"
  kv2json "$s/$series/$point/$rep" < "$OUT/raw/$s-$series-$point-$rep.txt" >> "$RESULTS"
  kill -0 "$pid" 2>/dev/null || log "WARNING: $s (pid $pid) is gone after $series $point rep $rep"
  stop_server "$s"
}

SERVERS=(coturn turnd)
for rep in $(seq 1 "$REPS"); do
  order=("${SERVERS[@]}")
  [ $((rep % 2)) = 0 ] && order=(turnd coturn)
  if has relay; then
    for point in "tls-${RELAY_CLIENTS}p" "dtls-${RELAY_CLIENTS}p"; do
      for s in "${order[@]}"; do log "rep $rep relay $point $s"; run_relay "$s" "$point" "$rep"; done
    done
  fi
  if has hs; then
    for point in tls tls12 tls12-rsa dtls; do
      for s in "${order[@]}"; do log "rep $rep hs $point $s"; run_tlsconn hs "$s" "$point" "$rep"; done
    done
  fi
  if has mem; then
    for point in tls tls12 dtls; do
      for s in "${order[@]}"; do log "rep $rep mem $point $s"; run_tlsconn mem "$s" "$point" "$rep"; done
    done
  fi
done

if [ "$PERF" = 1 ]; then
  if ! command -v perf >/dev/null; then
    log "perf not found: no profile"
  else
    for point in "tls-${RELAY_CLIENTS}p" "dtls-${RELAY_CLIENTS}p"; do
      extra=(); case $point in tls-*) extra=(--tcp);; esac
      log "perf: turnd under relay $point"
      pid=$(start_server turnd ec) || continue
      "$HERE/turn-load.sh" -p "$TLS_PORT" -W "${BENCH_SECRET:-bench-secret}" -u bench --server-pid "$pid" \
        --client-cpus "$CLIENT_CPUS" --mode peer "${extra[@]}" --secure -m "$RELAY_CLIENTS" \
        -n "$((RELAY_MSGS * 2))" -l 120 -z 0 --timeout 240 --json --tag "turnd/perf/$point/1" \
        > "$OUT/perf-$point.jsonl" &
      load=$!
      sleep 4
      perf stat -e 'syscalls:sys_enter_*' -p "$pid" -o "$OUT/perf-stat-$point.txt" -- sleep 4 2>/dev/null
      perf record -e cpu-clock -F 2000 -g -p "$pid" -o "$OUT/perf-$point.data" -- sleep 5 2>/dev/null
      wait "$load"
      perf report -i "$OUT/perf-$point.data" --no-children --sort dso,symbol --stdio 2>/dev/null \
        | grep -v '^$' | head -400 > "$OUT/perf-$point.txt"
      perf report -i "$OUT/perf-$point.data" --no-children --sort dso --stdio 2>/dev/null \
        | grep -E '^ +[0-9]' > "$OUT/perf-$point-dso.txt"
      stop_server turnd
    done
  fi
fi

python3 "$HERE/report.py" "$RESULTS" > "$OUT/report.md"
{
  echo "# turnd vs coturn over TLS and DTLS — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo; echo '```'; cat "$OUT/machine.txt"; echo '```'
  cat "$OUT/report.md"
} > "$OUT/summary.md"
log "done: $OUT/summary.md"
