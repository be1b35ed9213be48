#!/usr/bin/env bash
# tls-bench.sh — turnd vs coturn over TLS and DTLS (issue 12), 1 server thread each, runs
# interleaved and paired like compare.sh; results in OUTDIR/results.jsonl and OUTDIR/report.md
# (report.py), figures in docs/BENCHMARKS.md "TLS and DTLS (issue 12)".
#
# Usage: tests/bench/tls-bench.sh [options] OUTDIR
#   -S SERIES  comma list of                                                 [relay,hs,mem]
#                relay  relayed msgs per server CPU-second via a UDP echo peer (turnutils_peer),
#                       turnutils_uclient -S (-t: TLS; without: DTLS) -l 120, REST credentials.
#                       Points (RELAY_POINTS): PROTO-Np = N clients flooding (-z 0, RELAY_MSGS
#                       each): the server saturates, loss is reported; PROTO-Np-paced = N clients
#                       at one message per ms each (-z 1, RELAY_PACED_MSGS each): the same
#                       offered rate for both servers, below saturation
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
#   -P         also profile both servers during each relay point (after the repetitions): perf
#              stat of the system calls (per relayed message) and perf record -e cpu-clock;
#              OUTDIR/perf/SERVER-POINT.{txt,syscalls}, summary in OUTDIR/perf/summary.md
#   -q         quick: 1 repetition, short loads (checks the set-up; figures not meaningful)
# Environment: TURND (binary; else built like run.sh in BUILD_DIR [REPO/build-bench]), TURND_REV,
#   TURNSERVER [turnserver], RELAY_POINTS ["tls-10p dtls-10p tls-20p-paced dtls-20p-paced"],
#   RELAY_MSGS [50000 per client], RELAY_PACED_MSGS [10000 per client], HS_SECS [8], HS_PAR [8],
#   MEM_CONNS [2000], REP_START [1] (first repetition: add repetitions to an OUTDIR),
#   BENCH_MIN_PORT/BENCH_MAX_PORT [49152/65535].
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

RELAY_POINTS=${RELAY_POINTS:-"tls-10p dtls-10p tls-20p-paced dtls-20p-paced"}
RELAY_MSGS=${RELAY_MSGS:-50000}; RELAY_PACED_MSGS=${RELAY_PACED_MSGS:-10000}
HS_SECS=${HS_SECS:-8}; HS_PAR=${HS_PAR:-8}; MEM_CONNS=${MEM_CONNS:-2000}; REP_START=${REP_START:-1}
if [ "$QUICK" = 1 ]; then REPS=1; RELAY_MSGS=5000; RELAY_PACED_MSGS=2000; HS_SECS=2; MEM_CONNS=200; fi
for point in $RELAY_POINTS; do
  [[ $point =~ ^(tls|dtls)-[0-9]+p(-paced)?$ ]] || { log "bad relay point $point (PROTO-Np or PROTO-Np-paced)"; exit 2; }
done

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
  echo "series: $SERIES; reps: $REP_START-$REPS; nice: $NICE; relay: $RELAY_POINTS, $RELAY_MSGS msgs" \
       "per flooding client, $RELAY_PACED_MSGS per paced client;" \
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

relay_load() {  # relay_load SERVER_PID POINT TAG [MSGS_FACTOR]: one turn-load.sh run, JSON on stdout
  local pid=$1 point=$2 tag=$3 factor=${4:-1} args=(--secure) clients msgs interval=0
  case $point in tls-*) args+=(--tcp);; esac
  clients=${point#*-}; clients=${clients%%p*}
  msgs=$RELAY_MSGS
  if [[ $point == *-paced ]]; then interval=1; msgs=$RELAY_PACED_MSGS; fi
  "$HERE/turn-load.sh" -p "$TLS_PORT" -W "${BENCH_SECRET:-bench-secret}" -u bench --server-pid "$pid" \
    --client-cpus "$CLIENT_CPUS" --mode peer "${args[@]}" -m "$clients" -n "$((msgs * factor))" -l 120 \
    -z "$interval" --timeout 240 --json --tag "$tag" --raw "$OUT/raw/${tag//\//-}.txt"
}

run_relay() {  # run_relay SERVER POINT REP
  local s=$1 point=$2 rep=$3 pid
  pid=$(start_server "$s" ec) || { log "$s did not start"; return 1; }
  relay_load "$pid" "$point" "$s/relay/$point/$rep" >> "$RESULTS" \
    || log "relay $s $point rep $rep: turn-load.sh failed (see raw/)"
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
for rep in $(seq "$REP_START" "$REPS"); do
  order=("${SERVERS[@]}")
  [ $((rep % 2)) = 0 ] && order=(turnd coturn)
  if has relay; then
    for point in $RELAY_POINTS; do
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

# -P: each server under each relay point once more (twice the messages), profiled from 6 s in:
# perf stat of the system calls for 4 s, then perf record for 4 s.
SYSCALLS="read write readv writev recvfrom sendto recvmsg sendmsg recvmmsg sendmmsg epoll_wait epoll_pwait epoll_ctl"
perf_point() {  # perf_point SERVER POINT
  local s=$1 point=$2 pid load events=() d=$OUT/perf
  for c in $SYSCALLS; do events+=(-e "syscalls:sys_enter_$c"); done
  pid=$(start_server "$s" ec) || return 1
  relay_load "$pid" "$point" "$s/perf/$point/1" 2 > "$d/$s-$point.json" &
  load=$!
  sleep 6
  perf stat "${events[@]}" -p "$pid" -o "$d/$s-$point.syscalls" -- sleep 4 > /dev/null 2>&1
  perf record -e cpu-clock -F 2000 -p "$pid" -o "$d/$s-$point.data" -- sleep 4 > /dev/null 2>&1
  wait "$load"
  {
    echo "# $s under relay $point: shared objects, then symbols (perf record -e cpu-clock, 4 s)"
    perf report -i "$d/$s-$point.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]'
    perf report -i "$d/$s-$point.data" --no-children --sort dso,symbol --stdio 2>/dev/null \
      | grep -E '^ +[0-9]' | sed 's/ \{2,\}/  /g' | head -80
  } > "$d/$s-$point.txt"
  stop_server "$s"
}
if [ "$PERF" = 1 ]; then
  if ! command -v perf > /dev/null; then
    log "perf not found: no profile"
  else
    mkdir -p "$OUT/perf"
    for point in $RELAY_POINTS; do
      for s in "${SERVERS[@]}"; do log "perf: $s under relay $point"; perf_point "$s" "$point"; done
    done
    python3 - "$OUT/perf" $RELAY_POINTS > "$OUT/perf/summary.md" <<'PYEOF'
import json, re, sys
d, points = sys.argv[1], sys.argv[2:]
print("| point | server | relayed msgs/s | server CPU % | system calls per relayed message | kernel % of samples | top shared objects |")
print("|---|---|---|---|---|---|---|")
for p in points:
    for s in ("coturn", "turnd"):
        try:
            r = json.load(open(f"{d}/{s}-{p}.json"))
            calls = {m.group(2): int(m.group(1).replace(",", "")) for m in
                     re.finditer(r"^\s*([\d,]+)\s+syscalls:sys_enter_(\w+)", open(f"{d}/{s}-{p}.syscalls").read(), re.M)}
            dsos = [m.groups() for m in (re.match(r"^\s+([\d.]+)%\s+(\S+)\s*$", l)
                                         for l in open(f"{d}/{s}-{p}.txt")) if m]
        except (OSError, ValueError):
            continue
        rate = r.get("recv_rate_median_msgs_s") or 0
        per = {k: v / (rate * 4) for k, v in calls.items() if v and rate}
        top = [f"{n} {v}%" for v, n in dsos[:6] if not n.startswith("[")]
        kern = next((v for v, n in dsos if n.startswith("[kernel")), "?")
        print(f"| {p} | {s} | {rate:,} | {r.get('server_cpu_pct')} | {sum(per.values()):.2f} ("
              + ", ".join(f"{k} {v:.2f}" for k, v in sorted(per.items(), key=lambda x: -x[1])) + f") | {kern} | {', '.join(top)} |")
PYEOF
  fi
fi

python3 "$HERE/report.py" "$RESULTS" > "$OUT/report.md"
{
  echo "# turnd vs coturn over TLS and DTLS — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo; echo '```'; cat "$OUT/machine.txt"; echo '```'
  cat "$OUT/report.md"
} > "$OUT/summary.md"
log "done: $OUT/summary.md"
