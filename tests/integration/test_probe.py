"""`turnctl probe` (issue 15) against real servers on loopback: turnd over UDP, TCP, TLS
(a `turnctl cert self-signed` certificate, --ca and --insecure), stun: and stuns:, also over
IPv6; turns: with a host name (SNI picks the chain, the name is checked: `localhost` against a
certificate for 127.0.0.1 is refused); coturn over UDP and TCP (REST secret and a static user)
and over TLS (turns: and stuns: with --ca, refused without it in turnd's words, --insecure;
coturn also takes TLS on its plain port, turnd does not); turns: to a port that closes or
answers in plain text ("is this port TLS?"); a stopped server (timeout over UDP, connection
refused over TCP, exit 3); a wrong secret (401, exit 4); a server whose peer filter
denies the loopback peer (403 explained, exit 4); a wrong --realm; bad URLs (exit 2 with the
fix); --json parsed everywhere.
"""

import json
import os
import signal
import socket
import subprocess
import threading

import pytest

import _paths  # noqa: F401
import procs

SECRET = "probe-test-secret"
TIMEOUT = 60  # seconds for one turnctl run; each probe waits at most --timeout per answer
TURN_STEPS = ["binding", "allocate", "permission", "channel-bind", "relay-echo", "refresh"]


def turnctl(*args, check_rc=None):
    binary = procs.turnctl_binary()
    if not os.path.exists(binary):
        pytest.fail(f"turnctl not built: {binary}")
    p = subprocess.run([binary, "probe", *args], capture_output=True, text=True, timeout=TIMEOUT)
    if check_rc is not None:
        assert p.returncode == check_rc, f"rc {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def probe_json(*args, rc=0):
    p = turnctl(*args, "--json", check_rc=rc)
    doc = json.loads(p.stdout)
    assert doc["exit_status"] == rc and doc["ok"] == (rc == 0)
    return doc


def steps(url_doc):
    return [s["step"] for s in url_doc["steps"]]


def failed_step(url_doc):
    bad = [s for s in url_doc["steps"] if not s["ok"]]
    assert bad, url_doc
    return bad[0]


def self_signed(d, host):
    """d/cert.pem and d/key.pem for `host` (an IP address or a DNS name in the subjectAltName)."""
    d.mkdir(exist_ok=True)
    subprocess.run([procs.turnctl_binary(), "cert", "self-signed", "--host", host, "--out", str(d)],
                   check=True, capture_output=True, timeout=60)
    return d


def tls_config(cert_dir, **kw):
    return procs.ServerConfig(secrets=[SECRET], tls_port=procs.free_port("tcp"),
                              tls_cert=str(cert_dir / "cert.pem"),
                              tls_key=str(cert_dir / "key.pem"), **kw)


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("probe-cert"), "127.0.0.1")


@pytest.fixture(scope="module")
def turnd(cert_dir):
    with procs.TurndProcess(tls_config(cert_dir)) as s:
        s.tls_port = s.config.tls_port
        yield s


def assert_certificate_refused(url, *cred):
    """Without --ca a self-signed certificate is refused at connect, and the reason says what to
    do; --insecure gets through. The same words whichever server it is."""
    doc = probe_json(url, *cred, "--timeout", "3", rc=4)
    bad = failed_step(doc["urls"][0])
    assert bad["step"] == "connect" and "TLS certificate error" in bad["detail"], bad
    assert "--ca" in bad["detail"] and "--insecure" in bad["detail"]
    assert probe_json(url, *cred, "--insecure")["urls"][0]["ok"]


def test_turnd_udp_tcp_tls_stun(turnd, cert_dir):
    port = turnd.address[1]
    urls = [f"turn:127.0.0.1:{port}?transport=udp", f"turn:127.0.0.1:{port}?transport=tcp",
            f"turns:127.0.0.1:{turnd.tls_port}", f"stun:127.0.0.1:{port}",
            f"stuns:127.0.0.1:{turnd.tls_port}",
            f"turn:[::1]:{port}?transport=tcp"]
    doc = probe_json(*urls, "--secret", SECRET, "--ca", str(cert_dir / "cert.pem"))
    by_url = {u["url"]: u for u in doc["urls"]}
    for u in urls:
        d = by_url[u]
        assert d["ok"], d
        if u.startswith("turn"):
            want = TURN_STEPS if "udp" in u else ["connect"] + TURN_STEPS
            assert steps(d) == want, d
            assert d["relayed"].startswith("127.0.0.1:")
            echo = [s for s in d["steps"] if s["step"] == "relay-echo"][0]
            assert echo["rtt_ms"] is not None and echo["rtt_ms"] >= 0
        else:
            assert steps(d) == (["connect", "binding"] if u.startswith("stuns") else ["binding"]), d
        assert d["reflexive"] and d["reflexive"].rsplit(":", 1)[0].strip("[]") in ("127.0.0.1", "::1")
    # the table: every URL, every step, the addresses
    p = turnctl(*urls[:2], "--secret", SECRET, check_rc=0)
    for word in ["URL", "STEP", "RTT", "relay-echo", "channel-bind", "OK ", "relayed 127.0.0.1:"]:
        assert word in p.stdout, p.stdout


def test_turnd_tls_certificate(turnd):
    assert_certificate_refused(f"turns:127.0.0.1:{turnd.tls_port}", "--secret", SECRET)


def test_turnd_tls_plain_port(turnd):
    """turnd's plain TCP listener speaks no TLS (coturn's does: test_coturn_tls): turnd closes
    the connection, and the probe says so in plain words, not as an OpenSSL error string."""
    doc = probe_json(f"turns:127.0.0.1:{turnd.address[1]}", "--secret", SECRET, "--insecure",
                     "--timeout", "2", rc=4)
    bad = failed_step(doc["urls"][0])
    assert bad["step"] == "connect", bad
    assert bad["detail"] == ("TLS handshake failed: the server closed the connection during the "
                             "handshake (is this port TLS?)"), bad


def test_tls_to_a_plain_text_server():
    """A port that answers a ClientHello in plain text (an HTTP server, say)."""
    with socket.create_server(("127.0.0.1", 0)) as srv:
        def answer():
            srv.settimeout(10)
            conn, _ = srv.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        t = threading.Thread(target=answer, daemon=True)
        t.start()
        doc = probe_json(f"turns:127.0.0.1:{srv.getsockname()[1]}", "--insecure", "--timeout", "2",
                         rc=4)
        t.join(10)
    assert failed_step(doc["urls"][0])["detail"] == (
        "TLS handshake failed: the server did not answer in TLS (is this port TLS?)"), doc


def test_turnd_tls_host_name(turnd, cert_dir, tmp_path):
    """turns:NAME sends NAME as SNI and checks it against the certificate; an address, against
    the certificate's IP entries. turnd's default chain is for other.example, its SNI chain for
    localhost: only a probe that sends SNI gets the localhost chain."""
    ca = tmp_path / "both.pem"
    local = self_signed(tmp_path / "local", "localhost")
    other = self_signed(tmp_path / "other", "other.example")
    ca.write_text((local / "cert.pem").read_text() + (other / "cert.pem").read_text())
    cfg = tls_config(other, extra_args=["--tls-sni-cert",
                                        f"{local / 'cert.pem'},{local / 'key.pem'}"])
    with procs.TurndProcess(cfg) as s:
        d = probe_json(f"turns:localhost:{s.config.tls_port}", "--secret", SECRET, "--ca", str(ca))
        assert d["urls"][0]["relayed"], d
        bad = failed_step(probe_json(f"turns:127.0.0.1:{s.config.tls_port}", "--secret", SECRET,
                                     "--ca", str(ca), rc=4)["urls"][0])
        assert "TLS certificate error: IP address mismatch (for '127.0.0.1')" in bad["detail"], bad
    # a trusted certificate for 127.0.0.1 is not one for the name localhost
    bad = failed_step(probe_json(f"turns:localhost:{turnd.tls_port}", "--secret", SECRET,
                                 "--ca", str(cert_dir / "cert.pem"), rc=4)["urls"][0])
    assert bad["step"] == "connect", bad
    assert "TLS certificate error: hostname mismatch (for 'localhost')" in bad["detail"], bad


def test_turnd_wrong_secret_says_401(turnd):
    url = f"turn:127.0.0.1:{turnd.address[1]}?transport=udp"
    doc = probe_json(url, "--secret", "not-the-secret", rc=4)
    bad = failed_step(doc["urls"][0])
    assert bad["step"] == "allocate" and bad["error_code"] == 401, bad
    assert "wrong --secret" in bad["detail"]
    p = turnctl(url, "--secret", "not-the-secret", check_rc=4)
    assert "401" in p.stdout and "wrong --secret" in p.stdout
    # no credentials at all: says to give some
    bad = failed_step(probe_json(url, rc=4)["urls"][0])
    assert bad["error_code"] == 401 and "give --secret" in bad["detail"]


def test_turnd_wrong_realm(turnd):
    url = f"turn:127.0.0.1:{turnd.address[1]}?transport=udp"
    p = subprocess.run([procs.turnctl_binary(), "probe", url, "--secret", SECRET, "--json",
                        "--realm", "other.example"], capture_output=True, text=True, timeout=TIMEOUT)
    assert p.returncode == 4, p.stdout + p.stderr
    bad = failed_step(json.loads(p.stdout)["urls"][0])
    assert "wrong realm" in bad["detail"] and "turnd.test" in bad["detail"], bad


def test_turnd_peer_denied_403():
    cfg = procs.ServerConfig(secrets=[SECRET], allow_peers=())  # the default filter: no loopback
    with procs.TurndProcess(cfg) as s:
        url = f"turn:127.0.0.1:{s.address[1]}?transport=udp"
        doc = probe_json(url, "--secret", SECRET, rc=4)
        d = doc["urls"][0]
        bad = failed_step(d)
        assert bad["step"] == "permission" and bad["error_code"] == 403, bad
        assert f"denies the peer {d['peer']}" in bad["detail"]
        for hint in ("--peer", "allow_peer", "--allow-loopback-peers"):
            assert hint in bad["detail"]
        assert steps(d)[-1] == "refresh" and d["steps"][-1]["ok"], d  # released all the same


def test_stopped_server():
    port = procs.free_port()  # nothing listens there
    doc = probe_json(f"turn:127.0.0.1:{port}?transport=udp", f"turn:127.0.0.1:{port}?transport=tcp",
                     "--secret", SECRET, "--timeout", "1", rc=3)
    udp, tcp = doc["urls"]
    assert udp["unreachable"] and tcp["unreachable"]
    assert failed_step(udp)["detail"].startswith("timeout:"), udp
    assert failed_step(tcp)["detail"].startswith("connection refused"), tcp
    p = turnctl(f"stun:127.0.0.1:{port}", "--timeout", "1", check_rc=3)
    assert "timeout" in p.stdout


@pytest.mark.parametrize("url", ["127.0.0.1:3478", "turn:::1:3478", "turn:h?transport=sctp"])
def test_bad_url(url):
    p = turnctl(url, check_rc=2)
    assert "bad URL" in p.stderr and "Write turn:HOST:PORT?transport=udp" in p.stderr


@pytest.mark.skipif(not os.path.exists("/usr/bin/turnserver"), reason="coturn not installed")
@pytest.mark.parametrize("auth", ["secret", "user"])
def test_coturn_udp_tcp(auth):
    cfg = procs.ServerConfig(secrets=[SECRET] if auth == "secret" else (),
                             users=[("alice", "wonderland")] if auth == "user" else (),
                             listen=(("127.0.0.1", procs.free_port()),))
    cred = ["--secret", SECRET] if auth == "secret" else ["--user", "alice:wonderland"]
    s = procs.CoturnProcess(cfg).start()
    try:
        port = s.address[1]
        urls = [f"turn:127.0.0.1:{port}?transport=udp", f"turn:127.0.0.1:{port}?transport=tcp",
                f"stun:127.0.0.1:{port}"]
        doc = probe_json(*urls, *cred)
        for d in doc["urls"]:
            assert d["ok"], d
        assert steps(doc["urls"][1]) == ["connect"] + TURN_STEPS
        bad = failed_step(probe_json(urls[0], "--user", "alice:wrong", rc=4)["urls"][0])
        assert bad["error_code"] == 401, bad
    finally:
        s.stop(sig=signal.SIGTERM)  # coturn may die of SIGINT's default action


@pytest.fixture(scope="module")
def coturn_tls(cert_dir):
    if not os.path.exists("/usr/bin/turnserver"):
        pytest.skip("coturn not installed")
    cfg = tls_config(cert_dir, listen=(("127.0.0.1", procs.free_port()),))
    s = procs.CoturnProcess(cfg).start()
    try:
        yield s
    finally:
        s.stop(sig=signal.SIGTERM)  # coturn may die of SIGINT's default action


def test_coturn_tls(coturn_tls, cert_dir):
    tls_url = f"turns:127.0.0.1:{coturn_tls.config.tls_port}"
    urls = [tls_url, f"stuns:127.0.0.1:{coturn_tls.config.tls_port}",
            # coturn 4.6.1 also takes TLS on its plain TCP port (turnd does not:
            # test_turnd_tls_plain_port)
            f"turns:127.0.0.1:{coturn_tls.address[1]}"]
    doc = probe_json(*urls, "--secret", SECRET, "--ca", str(cert_dir / "cert.pem"))
    tls, stuns, plain_port = doc["urls"]
    for d in (tls, plain_port):
        assert d["ok"] and steps(d) == ["connect"] + TURN_STEPS, d
        assert d["relayed"].startswith("127.0.0.1:") and d["reflexive"].startswith("127.0.0.1:"), d
    assert stuns["ok"] and steps(stuns) == ["connect", "binding"], stuns
    p = turnctl(tls_url, "--secret", SECRET, "--ca", str(cert_dir / "cert.pem"), check_rc=0)
    assert "relayed 127.0.0.1:" in p.stdout, p.stdout


def test_coturn_tls_certificate(coturn_tls):
    assert_certificate_refused(f"turns:127.0.0.1:{coturn_tls.config.tls_port}", "--secret", SECRET)
