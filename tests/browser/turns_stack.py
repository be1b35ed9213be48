#!/usr/bin/python3
"""Browser test of TURN over TLS (turns:): a certificate, turnd with a TLS listener, the test.

    turns_stack.py [--timeout S] -- CMD ARGS...

1. makes a throw-away self-signed certificate for 127.0.0.1 (subjectAltName IP:127.0.0.1) in a
   temporary directory: `turnctl cert self-signed --host 127.0.0.1 --days 2 --out DIR`, or with
   --cert-tool openssl `openssl req -x509 -newkey ec ... -addext subjectAltName=IP:127.0.0.1`
   (turns.test.mjs's header says what Chromium needs to trust either);
2. starts turnd (tests/lib/procs.py: a REST secret, free ports, relay window, --allow-peer
   127.0.0.0/8) with --listen-tls 127.0.0.1:TLSPORT --tls-cert cert.pem --tls-key key.pem,
   --admin-listen 127.0.0.1:ADMINPORT and admin.api_key in its --config, and waits until the TLS
   port accepts and /metrics answers;
3. runs CMD (node --test turns.test.mjs, which trusts cert.pem in its own NSS databases) with
   TURN_HOST / TURN_PORT / TURN_SECRET / TURN_RELAY_PORTS (run_with_server.server_env) and
   TURNS_PORT, TURNS_CERT (cert.pem), TURNS_CERT_TOOL, TURND_ADMIN_URL, TURND_ADMIN_KEY;
4. stops turnd by PID and removes the directory; fails if CMD failed or turnd crashed.

Environment: TURND_BIN, TURNCTL_BIN, TURN_TEST_LOGDIR (tests/lib/procs.py). Exits 77 (skip) when
certutil (Debian libnss3-tools; tools/bootstrap.sh installs it) is missing.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import procs  # noqa: E402  (tests/lib/procs.py)
from run_with_server import parse_launcher_args, run_command, server_env, stop_server  # noqa: E402

SKIP = 77
HOST = "127.0.0.1"
REALM = "browser.turns.test"


def make_certificate(directory: str, tool: str) -> tuple[str, str]:
    """DIR/cert.pem and DIR/key.pem for 127.0.0.1 (subjectAltName IP:127.0.0.1), valid 2 days."""
    if tool == "turnctl":  # an X.509 v3 leaf: CA:FALSE, EKU serverAuth, P-256
        cmd = [procs.turnctl_binary(), "cert", "self-signed", "--host", HOST, "--days", "2",
               "--out", directory]
    else:  # OpenSSL's defaults make it a CA (basicConstraints CA:TRUE) that is its own leaf
        cmd = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-days", "2", "-subj", "/CN=" + HOST, "-addext", "subjectAltName=IP:" + HOST,
               "-keyout", os.path.join(directory, "key.pem"), "-out", os.path.join(directory, "cert.pem")]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    print("$ %s\n  exit %d" % (" ".join(cmd), p.returncode), flush=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (cmd[0], p.returncode, p.stderr.strip()))
    return os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")


def wait_ready(tls_port: int, admin_url: str, timeout: float = 10.0) -> None:
    """The TLS listener accepts TCP and the admin listener serves /metrics (bounded in time)."""
    deadline = time.monotonic() + timeout
    last = "nothing tried"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, tls_port), timeout=1):
                pass
            with urllib.request.urlopen(admin_url + "/metrics", timeout=2) as r:
                if b"turnd_tls_handshakes_total" in r.read():
                    return
                last = "/metrics has no turnd_tls_handshakes_total"
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    raise RuntimeError("turnd's TLS listener %s:%d or admin listener %s not ready within %.0f s: %s"
                       % (HOST, tls_port, admin_url, timeout, last))


def main(argv: list[str]) -> int:
    def options(ap):
        ap.add_argument("--cert-tool", choices=("turnctl", "openssl"), default="turnctl",
                        help="what makes the certificate (default turnctl cert self-signed)")

    args, command = parse_launcher_args(argv, __doc__, 150.0, options)
    if not shutil.which("certutil"):
        print("SKIP: certutil not installed (apt-get install libnss3-tools)", flush=True)
        return SKIP
    if args.cert_tool == "turnctl" and not os.access(procs.turnctl_binary(), os.X_OK):
        print("FAIL: turnctl not built (%s); set TURNCTL_BIN" % procs.turnctl_binary(), flush=True)
        return 1

    workdir = tempfile.mkdtemp(prefix="turnd-browser-turns-")
    srv = None
    rc = 1
    try:
        cert, key = make_certificate(workdir, args.cert_tool)
        tls_port = procs.free_port("tcp")
        admin_port = procs.free_port("tcp")
        api_key = "turns-test-" + os.urandom(8).hex()
        config = procs.ServerConfig(
            listen=[(HOST, procs.free_port())], realm=REALM, threads=2,
            secrets=["s3cr3t-" + os.urandom(6).hex()], relay_window=100,
            config_yaml="# browser.turns: the sessions API for the test\nadmin:\n  api_key: %s\n" % api_key,
            extra_args=["--listen-tls", "%s:%d" % (HOST, tls_port), "--tls-cert", cert, "--tls-key", key,
                        "--admin-listen", "%s:%d" % (HOST, admin_port)])
        srv = procs.TurndProcess(config).start()  # raises with the log on failure
        admin_url = "http://%s:%d" % (HOST, admin_port)
        wait_ready(tls_port, admin_url)
        print("turnd ready: TLS on %s:%d, plain on %s (relay ports %d-%d), admin %s, log %s" % (
            HOST, tls_port, procs.fmt_hostport(*srv.address), *srv.relay_ports, admin_url,
            srv.log_path), flush=True)

        env = dict(os.environ)
        env.update(server_env(srv))
        env.update({"TURNS_PORT": str(tls_port), "TURNS_CERT": cert,
                    "TURND_ADMIN_URL": admin_url, "TURND_ADMIN_KEY": api_key,
                    "TURNS_CERT_TOOL": args.cert_tool})
        rc = run_command(command, env, args.timeout)
    except (RuntimeError, procs.ServerCrashed, OSError, subprocess.SubprocessError) as e:
        print("FAIL: %s" % e, flush=True)
        rc = rc or 1
    finally:
        if srv is not None:
            rc = stop_server(srv, rc)
        shutil.rmtree(workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
