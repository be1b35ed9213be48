#!/usr/bin/env bash
# tls_smoke.sh — bench.tls_smoke: the TLS/DTLS benchmark client (tlsconn) against a fresh turnd
# with TLS and DTLS listeners, ~5 s: 1 s of full TLS handshakes and 1 s of DTLS handshakes (8 at
# a time, each with a Binding round trip; tlsconn closes the ones in flight at the end without
# close_notify), then 50 idle TLS and 50 idle DTLS connections held. Passes when every
# handshake and Binding succeeded and turnd is still running. Not a measurement: it shows that
# tests/bench/tls-bench.sh's client and turnd still talk (the comparison is tls-bench.sh).
#
# Usage: tls_smoke.sh TURND TLSCONN [WORKDIR]
# Starts only its own turnd (by PID, stopped on exit); loopback only; every load is bounded.
set -uo pipefail
TURND=${1:?usage: tls_smoke.sh TURND TLSCONN [WORKDIR]}
TLSCONN=${2:?usage: tls_smoke.sh TURND TLSCONN [WORKDIR]}
WORK=${3:-$(mktemp -d "${TMPDIR:-/tmp}/bench-tls-smoke.XXXXXX")}
mkdir -p "$WORK"
. "$(dirname "${BASH_SOURCE[0]}")/smoke_lib.sh"
SMOKE_NAME=bench.tls_smoke
command -v openssl > /dev/null || fail "openssl not found"
openssl req -x509 -nodes -days 2 -subj /CN=localhost -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null || fail "openssl req failed"

start_turnd() {  # start_turnd PORT RELAY_LO: TLS and DTLS on PORT + 1
  "$TURND" --listen "127.0.0.1:$1" --listen-tls "127.0.0.1:$(($1 + 1))" --listen-dtls "127.0.0.1:$(($1 + 1))" \
    --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" --realm smoke.test --auth-secret smoke-secret \
    --allow-peer 127.0.0.0/8 --threads 1 --relay-ports "$2-$(($2 + 199))" --log-level warn \
    --max-connections-per-source 0 --max-connections 0 > "$WORK/turnd.log" 2>&1 < /dev/null &
  pid=$!
}
probe() { "$TLSCONN" -p "$(($1 + 1))" -n 1 -H 0 -S 0 -T 2 hold > /dev/null 2>&1; }
smoke_start bench.tls_smoke
port=$((port + 1))

check() {  # check WHAT OUTPUT: every connection made it, none failed
  local what=$1 out=$2 get
  get() { echo "$out" | sed -n "s/^$1=//p"; }
  echo "$out" | sed "s/^/  $what: /" | grep -E "negotiated_version|connections=|handshakes_per_s|held=|failures="
  [ "$(get failures)" = 0 ] || fail "$what: $(get failures) failed connections"
  if [ "$(get mode)" = rate ]; then
    [ "$(get connections)" -gt 0 ] || fail "$what: no connection completed"
  else
    [ "$(get held_at_end)" = "$(get requested)" ] || fail "$what: $(get held_at_end) of $(get requested) held"
  fi
}
check "TLS handshakes" "$("$TLSCONN" -p "$port" -P "$pid" -c 8 -w 0 -t 1 -T 20 rate)"
check "DTLS handshakes" "$("$TLSCONN" -p "$port" -u -P "$pid" -c 8 -w 0 -t 1 -T 20 rate)"
check "idle TLS" "$("$TLSCONN" -p "$port" -P "$pid" -n 50 -c 16 -H 1 -S 0.5 -T 30 hold)"
check "idle DTLS" "$("$TLSCONN" -p "$port" -u -P "$pid" -n 50 -c 16 -H 1 -S 0.5 -T 30 hold)"
sleep 0.3
kill -0 "$pid" 2>/dev/null || fail "turnd exited during the run"
echo "bench.tls_smoke: ok"
