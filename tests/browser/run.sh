#!/bin/sh
# Browser test runner: installs playwright-core (npm ci, once, under a lock)
# if needed, then starts the TURN server (TURND_SERVER=turnd|coturn, see
# ../lib/run_with_server.py and ../lib/procs.py) and runs the node test against it.
#   BROWSER_TURN_TRANSPORT=udp|tcp   (default: both)
#   run.sh redis    instead: redis-server + turnd --redis, and an iceServers
#                   entry minted by turnctl (redis_stack.py; TURNCTL_BIN)
#   run.sh web      instead: turnd with --web-listen/--web-demo, and the /call
#                   and /ice pages (web_stack.py, call.test.mjs)
#   run.sh web-nat  instead: the same pages over HTTPS from a Chromium behind a
#                   NAT made of network namespaces (web_nat_stack.py, web_nat.test.mjs)
#   run.sh turns    instead: turnd with a TLS listener and a test certificate,
#                   turns: with and without trusting it (turns_stack.py)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
python=${TURN_TEST_PYTHON:-/usr/bin/python3}

(
  flock -w 600 9 || { echo "could not take the npm install lock" >&2; exit 1; }
  cd "$here"
  if [ ! -f node_modules/playwright-core/package.json ] || [ node_modules/.package-lock.json -ot package-lock.json ]; then
    echo "installing node modules in $here (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
) 9>"${TMPDIR:-/tmp}/turnd-browser-npm.lock"

cd "$here"
if [ "${1:-}" = turns ]; then
  exec "$python" "$here/turns_stack.py" --timeout 150 -- node --test "$here/turns.test.mjs"
fi
if [ "${1:-}" = web ]; then
  exec "$python" "$here/web_stack.py" --timeout 280 -- node --test --test-concurrency=1 "$here/call.test.mjs"
fi
if [ "${1:-}" = web-nat ]; then
  exec "$python" "$here/web_nat_stack.py" --timeout 280 -- node --test --test-concurrency=1 "$here/web_nat.test.mjs"
fi
if [ "${1:-}" = redis ]; then
  exec "$python" "$here/redis_stack.py" --timeout 150 -- node --test "$here/datachannel.test.mjs"
fi
exec "$python" "$here/../lib/run_with_server.py" --timeout 270 -- node --test "$here/datachannel.test.mjs"
