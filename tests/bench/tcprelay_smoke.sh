#!/usr/bin/env bash
# tcprelay_smoke.sh TURND OUTDIR — bench.tcp_relay_smoke (ctest, ~15 s): tcprelay-bench.sh -q
# (one repetition, turnutils_uclient -T with 2 clients x 200 messages of 1,000 bytes) against
# coturn and the given turnd, so the benchmark script cannot rot: each run exits 0, every
# message sent comes back and the server is still running afterwards (the script's status).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[ $# -eq 2 ] || { echo "usage: $0 TURND OUTDIR" >&2; exit 2; }
TURND=$1; OUT=$2
rm -rf "$OUT"; mkdir -p "$OUT"
fail() { echo "bench.tcp_relay_smoke: FAIL: $*" >&2; exit 1; }
# A port and a relay window of our own (above the ephemeral range; distinct per run)
port=$(( 20000 + (RANDOM * 32768 + RANDOM + $$) % 10000 ))
lo=$(( 61000 + (RANDOM % 20) * 200 ))
TURND=$TURND BENCH_MIN_PORT=$lo BENCH_MAX_PORT=$((lo + 199)) TMPDIR=$OUT \
  bash "$HERE/tcprelay-bench.sh" -q -p "$port" "$OUT/run" || fail "tcprelay-bench.sh failed (see $OUT/run)"
python3 - "$OUT/run/results.jsonl" <<'PY' || fail "unexpected results in $OUT/run/results.jsonl"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
servers = sorted(r["server"] for r in rows)
assert servers == ["coturn", "turnd"], servers
for r in rows:
    assert r["uclient_rc"] == 0, r
    assert r["sent_msgs"] == 400 and r["recv_msgs"] == 400, r
    assert r["recv_bytes"] == 400000 and r["server_cpu_s"] >= 0, r
print("bench.tcp_relay_smoke: ok:", ", ".join("%s %d bytes" % (r["server"], r["recv_bytes"]) for r in rows))
PY
