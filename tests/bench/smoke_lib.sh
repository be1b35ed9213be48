# smoke_lib.sh — shared by smoke.sh, turnperf_smoke.sh and tls_smoke.sh (sourced): a turnd of their own on a free
# loopback port, stopped (by its PID) on exit. The caller sets WORK and defines
#   start_turnd PORT RELAY_LO   start turnd in the background (its log in $WORK/turnd.log), set pid
#   probe PORT                  succeed once turnd answers on PORT
# and calls smoke_start NAME, which sets port (or fails after 5 tries on other ports).
pid=""
smoke_cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -INT "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  fi
}
trap smoke_cleanup EXIT
fail() { smoke_fail "$@"; }
# The plain turnd of smoke.sh and turnperf_smoke.sh: UDP+TCP on PORT, REST secret smoke-secret,
# realm smoke.test, 200 relay ports from RELAY_LO, peers on loopback allowed.
smoke_plain_turnd() {  # smoke_plain_turnd PORT RELAY_LO
  "$TURND" --listen "127.0.0.1:$1" --realm smoke.test --auth-secret smoke-secret \
    --allow-peer 127.0.0.0/8 --threads 1 --relay-ports "$2-$(($2 + 199))" --log-level warn \
    > "$WORK/turnd.log" 2>&1 < /dev/null &
  pid=$!
}
smoke_fail() { echo "$SMOKE_NAME: FAIL: $*" >&2; [ -f "$WORK/turnd.log" ] && tail -20 "$WORK/turnd.log" >&2; exit 1; }
smoke_start() {
  SMOKE_NAME=$1
  port=""
  local attempt p
  for attempt in 1 2 3 4 5; do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM + $$ + attempt * 7919) % 20000 ))
    start_turnd "$p" $(( 40000 + (p % 100) * 200 ))
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      if probe "$p"; then port=$p; break; fi
      sleep 0.2
    done
    [ -n "$port" ] && return 0
    smoke_cleanup; pid=""   # port taken or slow start: try another port
  done
  smoke_fail "turnd did not answer on any of 5 ports"
}
