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
. "$(dirname "${BASH_SOURCE[0]}")/smoke_lib.sh"
start_turnd() { smoke_plain_turnd "$@"; }
probe() { "$STUNFLOOD" -s 127.0.0.1 -p "$1" -n 1 -t 1 -T 300 > /dev/null 2>&1; }
smoke_start bench.smoke

out=$("$STUNFLOOD" -s 127.0.0.1 -p "$port" -t 1 -n 2000000 -w 64 -b 16 -S 4) || true
echo "$out"
get() { echo "$out" | sed -n "s/^$1=//p"; }
answered=$(get answered); invalid=$(get invalid)
[ -n "$answered" ] || fail "no stunflood output"
[ "$answered" -gt 0 ] || fail "no Binding request answered"
[ "$invalid" -eq 0 ] || fail "$invalid invalid answers"
kill -0 "$pid" 2>/dev/null || fail "turnd exited during the run"
echo "bench.smoke: ok ($answered answered, $(get answered_pps)/s, loss $(get loss_pct) %)"
