#!/usr/bin/python3
"""Start the server under test, run a command against it, stop the server.

    run_with_server.py [--timeout S] [--realm R] -- CMD ARGS...

The server is started by procs.make_server (turnd, or coturn with TURND_SERVER=coturn; TURND_BIN,
TURN_TEST_LOGDIR as in procs.py) on 127.0.0.1 with a REST secret. CMD gets TURN_HOST, TURN_PORT,
TURN_REALM, TURN_SECRET, TURN_SERVER_KIND and TURN_RELAY_PORTS in its environment. Exits non-zero
when CMD failed or timed out, or the server crashed (procs' checks, sanitizer reports included);
the server log is printed whenever something failed. Used by tests/browser/run.sh.

run_command() (the bounded child run) and stop_server() are shared with
tests/browser/redis_stack.py and tests/browser/turns_stack.py.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from typing import Callable, Dict, List, Optional

import procs

HOST = "127.0.0.1"


def run_command(command: List[str], env: Dict[str, str], timeout: float) -> int:
    """Runs command in its own process group; kills that group (only) after timeout (exit 124).
    Says FAIL with the exit status when it failed."""
    child = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        rc = child.wait(timeout)
    except subprocess.TimeoutExpired:
        print("FAIL: command did not finish within %.0fs; killing it" % timeout, flush=True)
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait(10)
        rc = 124
    if rc != 0:
        print("FAIL: command exited with %s" % procs.describe_status(rc), flush=True)
    return rc


def stop_server(srv: procs.ServerProcess, rc: int) -> int:
    """Stops srv by PID and checks it (procs: crashed, killed, sanitizer report); prints what
    failed and the tail of the server log when the server or the run (rc != 0) failed. Returns
    the exit code: rc, or 1 when only the server failed."""
    try:
        srv.stop(check=True)
    except procs.ServerCrashed as e:
        print("FAIL: %s" % str(e).splitlines()[0], flush=True)
        rc = rc or 1
    if rc != 0:
        print(srv.log_tail(200), flush=True)
    return rc


def server_env(srv: procs.ServerProcess) -> Dict[str, str]:
    """What a non-Python client needs to know about the running server."""
    host, port = srv.address
    lo, hi = srv.relay_ports
    env = {
        "TURN_HOST": host,
        "TURN_PORT": str(port),
        "TURN_REALM": srv.config.realm,
        "TURN_SERVER_KIND": srv.name,
        "TURN_RELAY_PORTS": "%d-%d" % (lo, hi),
    }
    if srv.config.secrets:
        env["TURN_SECRET"] = srv.config.secrets[0]
    return env


def parse_launcher_args(argv: List[str], doc: str, timeout: float,
                        add_options: Optional[Callable[[argparse.ArgumentParser], None]] = None):
    """The command line of a launcher (this one, tests/browser/*_stack.py): its own options,
    --timeout, then `-- CMD ARGS...`. Returns (options, command)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout", type=float, default=timeout, help="seconds the command may take")
    if add_options:
        add_options(ap)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("a command is needed after --")
    return args, command


def main(argv: List[str]) -> int:
    args, command = parse_launcher_args(
        argv, __doc__, 240.0, lambda ap: ap.add_argument("--realm", default="interop.test"))

    config = procs.ServerConfig(listen=[(HOST, procs.free_port())], realm=args.realm, threads=2,
                                secrets=["s3cr3t-" + os.urandom(6).hex()], relay_window=100)
    srv = procs.make_server(config)
    try:
        srv.start()
    except procs.ServerCrashed as e:
        print("FAIL: %s" % e, flush=True)
        return 1
    print("%s ready on %s (relay ports %d-%d), log %s" % (
        srv.name, procs.fmt_hostport(*srv.address), *srv.relay_ports, srv.log_path), flush=True)
    rc = run_command(command, dict(os.environ, **server_env(srv)), args.timeout)
    return stop_server(srv, rc)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
