#!/usr/bin/env bash
# smoke.sh — bench.smoke: one second of stunflood against a fresh turnd on loopback; passes when
# some Binding requests were answered and no answer was invalid. Not a measurement: it only shows
# that the benchmark client and turnd still talk (the comparison itself is tests/bench/run.sh).
#
# Usage: smoke.sh TURND STUNFLOOD [WORKDIR]
# Starts only its own turnd (by PID, killed on exit); loopback only; the load is bounded (1 s).
set -uo pipefail
TURND=${1:?usage: smoke.sh TURND STUNFLOOD [WORKDIR]}
STUNFLOOD=${2:?usage: smoke.sh TURND STUNFLOOD [WORKDIR]}
WORK=${3:-$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX")}
mkdir -p "$WORK"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
}
trap cleanup EXIT
fail() { echo "bench.smoke: FAIL: $*" >&2; [ -f "$WORK/turnd.log" ] && tail -20 "$WORK/turnd.log" >&2; exit 1; }

port=""
for attempt in 1 2 3 4 5; do
  p=$(( 20000 + (RANDOM * 32768 + RANDOM + $$ + attempt * 7919) % 20000 ))
  lo=$(( 40000 + (p % 100) * 200 ))
  "$TURND" --listen "127.0.0.1:$p" --realm smoke.test --auth-secret smoke-secret \
    --allow-peer 127.0.0.0/8 --threads 1 --relay-ports "$lo-$((lo + 199))" --log-level warn \
    > "$WORK/turnd.log" 2>&1 < /dev/null &
  pid=$!
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    if "$STUNFLOOD" -s 127.0.0.1 -p "$p" -n 1 -t 1 -T 300 > /dev/null 2>&1; then port=$p; break; fi
    sleep 0.2
  done
  [ -n "$port" ] && break
  cleanup; pid=""   # port taken or slow start: try another port
done
[ -n "$port" ] || fail "turnd did not answer a Binding request on any of 5 ports"

out=$("$STUNFLOOD" -s 127.0.0.1 -p "$port" -t 1 -n 2000000 -w 64 -b 16 -S 4) || true
echo "$out"
get() { echo "$out" | sed -n "s/^$1=//p"; }
answered=$(get answered); invalid=$(get invalid)
[ -n "$answered" ] || fail "no stunflood output"
[ "$answered" -gt 0 ] || fail "no Binding request answered"
[ "$invalid" -eq 0 ] || fail "$invalid invalid answers"
kill -0 "$pid" 2>/dev/null || fail "turnd exited during the run"
echo "bench.smoke: ok ($answered answered, $(get answered_pps)/s, loss $(get loss_pct) %)"
