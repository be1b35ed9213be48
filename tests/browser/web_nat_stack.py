#!/usr/bin/python3
"""Browser test of the web listener's pages from behind a real NAT (issue 15: /ice lists srflx).

    web_nat_stack.py [--nat port-restricted] [--timeout S] -- CMD ARGS...

1. builds a NAT lab of network namespaces (tests/lib/netns.py): Chromium's side is the client
   namespace (198.51.100.2) behind a NAT whose public address is 203.0.113.1; turnd runs in the
   server namespace on 203.0.113.10. Nothing touches the root namespace;
2. makes a throw-away certificate for 203.0.113.10 (`turnctl cert self-signed --host`), since a
   web listener off loopback serves HTTPS only (and a camera page needs a secure context);
3. starts turnd in the server namespace: UDP/TCP on :3478, TLS on :5349, HTTPS pages on :8443
   (--web-listen, --web-demo true), a REST secret, relay on 203.0.113.10 with
   --allow-peer 203.0.113.10/32 so that two tabs behind the same NAT can call relay to relay;
4. runs CMD (node --test web_nat.test.mjs) inside the client namespace, so the Chromium it
   launches is behind the NAT, with WEB_URL=https://203.0.113.10:8443, WEB_HOST, WEB_CERT (the
   certificate the test trusts in its own NSS database), NAT_PUBLIC_IP and CLIENT_IP;
5. stops turnd by PID and removes the lab; fails if CMD failed or turnd crashed.

Exit 77 (skip) without root / `ip netns` / nft, or without certutil (libnss3-tools).
Environment: TURND_BIN, TURNCTL_BIN, TURN_TEST_LOGDIR (tests/lib/procs.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

import netns  # noqa: E402  (tests/lib/netns.py)
import procs  # noqa: E402  (tests/lib/procs.py)
from run_with_server import parse_launcher_args, run_command, stop_server  # noqa: E402

SERVER_IP = netns.SERVER_IPS[0]
TURN_PORT, TLS_PORT, WEB_PORT = 3478, 5349, 8443
NATS = {"port-restricted": netns.NatKind.PORT_RESTRICTED, "full-cone": netns.NatKind.FULL_CONE,
        "none": netns.NatKind.NONE,  # by hand: shows that the srflx assertion can fail
        "symmetric": netns.NatKind.SYMMETRIC}

# Run in the client namespace: the pages answer over HTTPS (certificate not checked here; the
# browser checks it).
_WEB_READY = r"""
import ssl, sys, time, urllib.request
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
deadline = time.monotonic() + float(sys.argv[2]); last = "nothing tried"
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(sys.argv[1] + "/", timeout=2, context=ctx) as r:
            if r.status == 200:
                sys.exit(0)
    except OSError as e:
        last = str(e)
    time.sleep(0.2)
print(last); sys.exit(1)
"""


def make_certificate(directory: str) -> tuple[str, str]:
    """DIR/cert.pem and DIR/key.pem for SERVER_IP (subjectAltName IP:SERVER_IP), valid 2 days."""
    subprocess.run([procs.turnctl_binary(), "cert", "self-signed", "--host", SERVER_IP,
                    "--days", "2", "--out", directory], check=True, capture_output=True, timeout=30)
    return os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")


def main(argv: list[str]) -> int:
    args, command = parse_launcher_args(
        argv, __doc__, 240.0,
        lambda ap: ap.add_argument("--nat", choices=sorted(NATS), default="port-restricted"))
    why = netns.skip_reason()
    if why is None and not shutil.which("certutil"):
        why = "certutil not installed (apt-get install libnss3-tools)"
    if why:
        print("SKIP: %s" % why, flush=True)
        return 77
    srv = None
    rc = 1
    workdir = tempfile.mkdtemp(prefix="turnd-web-nat-")
    try:
        cert, key = make_certificate(workdir)
        with netns.NatLab("web", NATS[args.nat]) as lab:
            try:
                config = procs.ServerConfig(
                    listen=[(SERVER_IP, TURN_PORT)], relay_ips=(SERVER_IP,), realm="web.nat.test",
                    threads=2, secrets=["s3cr3t-" + os.urandom(6).hex()], relay_window=100,
                    allow_peers=(SERVER_IP + "/32",),
                    extra_args=["--listen-tls", "%s:%d" % (SERVER_IP, TLS_PORT), "--tls-cert", cert,
                                "--tls-key", key, "--web-listen", "%s:%d" % (SERVER_IP, WEB_PORT),
                                "--web-demo", "true"])
                srv = netns.server_in_namespace(procs.TurndProcess, lab)(config).start()
                url = "https://%s:%d" % (SERVER_IP, WEB_PORT)
                ready = lab.run_in(lab.client, [sys.executable, "-c", _WEB_READY, url, "15"], timeout=30)
                if ready.returncode != 0:
                    raise RuntimeError("web listener %s not ready from the client namespace: %s" % (
                        url, ready.stdout.strip() or ready.stderr.strip()))
                print("lab %s (%s NAT): turnd in %s on %s, pages on %s, log %s" % (
                    lab.base, args.nat, lab.server, SERVER_IP, url, srv.log_path), flush=True)
                env = dict(os.environ)
                env.update({"WEB_URL": url, "WEB_HOST": SERVER_IP, "WEB_CERT": cert,
                            "NAT_PUBLIC_IP": netns.NAT_PUBLIC_IP, "CLIENT_IP": netns.CLIENT_IP,
                            "NAT_KIND": args.nat})
                rc = run_command([netns.IP, "netns", "exec", lab.client] + command, env, args.timeout)
            finally:
                if srv is not None:
                    rc = stop_server(srv, rc)
    except (RuntimeError, procs.ServerCrashed, OSError, subprocess.SubprocessError) as e:
        print("FAIL: %s" % e, flush=True)
        rc = rc or 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
