#!/usr/bin/python3
"""Browser test of the web listener's pages: turnd with /call, /ice and their /credentials.

    web_stack.py [--timeout S] -- CMD ARGS...

1. starts turnd (tests/lib/procs.py: a REST secret, free ports, relay window, --allow-peer
   127.0.0.0/8 for relay to relay on loopback) listening on 127.0.0.1 only, with
   --web-listen 127.0.0.1:WEBPORT --web-demo true (plain HTTP: loopback is a secure context,
   so getUserMedia works), and waits until the web listener answers /;
2. runs CMD (node --test call.test.mjs) with WEB_URL=http://127.0.0.1:WEBPORT and the
   run_with_server.server_env variables;
3. stops turnd by PID; fails if CMD failed or turnd crashed.

Environment: TURND_BIN, TURN_TEST_LOGDIR (tests/lib/procs.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import procs  # noqa: E402  (tests/lib/procs.py)
from run_with_server import parse_launcher_args, run_command, server_env, stop_server  # noqa: E402

HOST = "127.0.0.1"


def wait_ready(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    last = "nothing tried"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    raise RuntimeError("web listener %s not ready within %.0f s: %s" % (url, timeout, last))


def main(argv: list[str]) -> int:
    args, command = parse_launcher_args(argv, __doc__, 200.0)
    srv = None
    rc = 1
    try:
        web_port = procs.free_port("tcp")
        config = procs.ServerConfig(
            listen=[(HOST, procs.free_port())], realm="browser.web.test", threads=2,
            secrets=["s3cr3t-" + os.urandom(6).hex()], relay_window=100,
            extra_args=["--web-listen", "%s:%d" % (HOST, web_port), "--web-demo", "true"])
        srv = procs.TurndProcess(config).start()  # raises with the log on failure
        url = "http://%s:%d" % (HOST, web_port)
        wait_ready(url)
        print("turnd ready: TURN on %s (relay ports %d-%d), pages on %s, log %s" % (
            procs.fmt_hostport(*srv.address), *srv.relay_ports, url, srv.log_path), flush=True)
        env = dict(os.environ)
        env.update(server_env(srv))
        env["WEB_URL"] = url
        rc = run_command(command, env, args.timeout)
    except (RuntimeError, procs.ServerCrashed, OSError, subprocess.SubprocessError) as e:
        print("FAIL: %s" % e, flush=True)
        rc = rc or 1
    finally:
        if srv is not None:
            rc = stop_server(srv, rc)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
