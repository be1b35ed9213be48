#!/usr/bin/env bash
# turnperf_smoke.sh — bench.turnperf_smoke: the issue-13 client (turnperf) against a fresh turnd,
# ~3 s: 200 complete allocations (Allocate, 401, Allocate with MESSAGE-INTEGRITY,
# CreatePermission, Refresh 0; 16 in flight) with no error, timeout or invalid answer, then 1 s
# of ChannelData at 1,000 msgs/s through 2 allocations to turnperf's own UDP echo and back with
# no loss and no invalid datagram. Not a measurement: it shows that tests/bench/perf13.sh's
# client and turnd still talk (the comparison is perf13.sh).
#
# Usage: turnperf_smoke.sh TURND TURNPERF [WORKDIR]
# Starts only its own turnd (by PID, stopped on exit); loopback only; every load is bounded.
set -uo pipefail
TURND=${1:?usage: turnperf_smoke.sh TURND TURNPERF [WORKDIR]}
TURNPERF=${2:?usage: turnperf_smoke.sh TURND TURNPERF [WORKDIR]}
WORK=${3:-$(mktemp -d "${TMPDIR:-/tmp}/bench-turnperf-smoke.XXXXXX")}
mkdir -p "$WORK"
. "$(dirname "${BASH_SOURCE[0]}")/smoke_lib.sh"
start_turnd() { smoke_plain_turnd "$@"; }
AUTH=(-W smoke-secret -u smoke -r smoke.test)
probe() { "$TURNPERF" -p "$1" "${AUTH[@]}" -n 1 -c 1 -i 0 -t 2 -T 300 -H 2 alloc > /dev/null 2>&1; }
smoke_start bench.turnperf_smoke

get() { echo "$out" | sed -n "s/^$1=//p"; }
out=$("$TURNPERF" -p "$port" "${AUTH[@]}" -P "$pid" -n 200 -c 16 -i 0 -t 20 -H 30 alloc)
echo "$out" | sed 's/^/  alloc: /' | grep -E "allocations=|alloc_per|errors_total|err_|invalid_|timeout_"
[ "$(get completed)" = 200 ] || fail "alloc: $(get completed) of 200 allocations completed"
[ "$(get errors_total)" = 0 ] || fail "alloc: $(get errors_total) errors"
out=$("$TURNPERF" -p "$port" "${AUTH[@]}" -P "$pid" -n 2 -R 1000 -t 1 -i 0 -H 30 lat)
echo "$out" | sed 's/^/  lat: /' | grep -E "sent=|received=|lost=|invalid=|rtt_p50|rtt_p99_|errors_total|released"
[ "$(get sent)" -ge 900 ] || fail "lat: only $(get sent) messages sent"
[ "$(get received)" = "$(get sent)" ] || fail "lat: $(get received) of $(get sent) echoes came back"
[ "$(get invalid)" = 0 ] && [ "$(get dup)" = 0 ] || fail "lat: invalid or duplicate datagrams"
[ "$(get errors_total)" = 0 ] && [ "$(get released)" = 2 ] || fail "lat: allocation set-up or release failed"
sleep 0.3
kill -0 "$pid" 2>/dev/null || fail "turnd exited during the run"
echo "bench.turnperf_smoke: ok"
