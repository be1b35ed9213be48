"""coturn's turnutils_natdiscovery (RFC 5780 client) against turnd with --alternate-listen.

turnd listens on 127.0.0.1:P1 with its alternate 127.0.0.2:P2 (loopback: no NAT between
client and server), so every test must complete and report endpoint-independent mapping and
filtering; hairpinning and the padded variants (-P: 1500-byte PADDING both ways) too. The
responses name where they came from (RESPONSE-ORIGIN) and the other address (OTHER-ADDRESS),
which the tool prints; they are checked against the four addresses turnd serves.
"""

import os
import re
import subprocess

import pytest

import procs

NATDISCOVERY = os.environ.get("NATDISCOVERY_BIN", "/usr/bin/turnutils_natdiscovery")
IP1, IP2 = "127.0.0.1", "127.0.0.2"
ORIGIN_RE = re.compile(r"Response origin: : (\S+):(\d+)")
OTHER_RE = re.compile(r"Other addr: : (\S+):(\d+)")

pytestmark = pytest.mark.skipif(not os.access(NATDISCOVERY, os.X_OK),
                                reason="turnutils_natdiscovery (Debian package coturn) missing")


@pytest.fixture
def rfc5780_server():
    if procs.server_kind() != "turnd":
        pytest.skip("turnd's --alternate-listen")
    p1, p2 = procs.free_port(), procs.free_port()
    config = procs.ServerConfig(listen=[(IP1, p1)], realm="interop.test", threads=2,
                                secrets=["s3cr3t-" + os.urandom(6).hex()], relay_window=20,
                                extra_args=["--alternate-listen", f"{IP2}:{p2}"])
    srv = procs.make_server(config)
    srv.start()
    srv.p1, srv.p2 = p1, p2
    try:
        yield srv
    finally:
        srv.stop(check=True)


def natdiscovery(srv, flags, label):
    cmd = [NATDISCOVERY] + flags + ["-p", str(srv.p1), IP1]
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="replace", timeout=60)
        out, rc = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        out, rc = out + "\n[timed out after 60 s]", "timeout"
    with open(os.path.join(srv.dir, f"natdiscovery-{label}.log"), "w") as f:
        f.write("# %s\n%s" % (" ".join(cmd), out))
    srv.assert_alive()
    where = "\n`%s` (exit %s):\n%s" % (" ".join(cmd), rc, "\n".join(out.splitlines()[-60:]))
    assert rc == 0, "turnutils_natdiscovery failed" + where
    return out, where


@pytest.mark.parametrize("padding", [False, True], ids=["plain", "padding"])
def test_mapping_and_filtering_endpoint_independent(rfc5780_server, padding):
    srv = rfc5780_server
    out, where = natdiscovery(srv, ["-m", "-f"] + (["-P"] if padding else []),
                              "mf-padding" if padding else "mf")
    assert "NAT with Endpoint Independent Mapping!" in out, where
    assert "NAT with Endpoint Independent Filtering!" in out, where
    # Tests I-III of mapping (RFC 5780 §4.3) and I, II of filtering (§4.4; on loopback test II,
    # from the other IP and port, already arrives): each answer an RFC 5780 one.
    assert len(re.findall(r"RFC 5780 response \d+", out)) >= 4, where
    four = {(IP1, srv.p1), (IP2, srv.p1), (IP1, srv.p2), (IP2, srv.p2)}
    origins = {(ip, int(port)) for ip, port in ORIGIN_RE.findall(out)}
    others = {(ip, int(port)) for ip, port in OTHER_RE.findall(out)}
    assert origins and origins <= four, f"origins {origins}" + where
    assert (IP2, srv.p2) in origins, "no answer from the other IP and port (CHANGE-REQUEST)" + where
    assert (IP2, srv.p2) in others, where
    assert "rror" not in out, where


def test_hairpinning(rfc5780_server):
    out, where = natdiscovery(rfc5780_server, ["-H"], "hairpin")
    assert "Received a request (maybe a successful hairpinning)" in out, where
