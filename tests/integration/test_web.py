"""The web listener (web.listen, web.demo): its pages and headers, /credentials (minted with
the server's secret, rate-limited, 503 without a secret), the /ws signalling rooms with a real
WebSocket client (RFC 6455 written out below on a plain socket: Debian 12's python3 has no
websockets module), and the limits an attacker meets: connections per source, bad room names,
other origins, malformed, oversize and too many messages. turnd only."""

import base64
import contextlib
import hashlib
import json
import os
import socket
import ssl
import struct
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import _paths  # noqa: F401
import procs
from conftest import SERVER_KIND, start_server, stop_server
from turnclient.client import TurnClient

pytestmark = pytest.mark.skipif(SERVER_KIND != "turnd", reason="turnd's web listener")

SECRET = "web-test-secret"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def start_web(threads, demo=True, more_args=(), **kw):
    port = procs.free_port("tcp")
    args = ["--web-listen", f"127.0.0.1:{port}", "--web-demo", "true" if demo else "false",
            *more_args]
    s = start_server(procs.ServerConfig(threads=threads, extra_args=args, **kw))
    s.web_port = port
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the web listener opens after the TURN ports
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return s
        except OSError:
            time.sleep(0.05)
    raise AssertionError("web listener did not open:\n" + s.log_tail())


@pytest.fixture(scope="module")
def web(threads):
    s = start_web(threads, secrets=[SECRET])
    yield s
    stop_server(s)


def get(port, path, headers=None, method="GET"):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


class Ws:
    """A WebSocket client (RFC 6455) on a plain socket: handshake, masked frames, close."""

    def __init__(self, port, target, origin=None, tls=None, source=None, rcvbuf=None):
        """`source`: the local address to connect from (127.0.0.x: the per-source limits);
        `rcvbuf`: a small SO_RCVBUF, set before connecting, for a client that reads slowly."""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))
        if tls:  # an ssl.SSLContext: wss://
            self.sock = tls.wrap_socket(self.sock, server_hostname="127.0.0.1")
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if origin:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        head, _, self.pending = head.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode()
        self.status = int(status_line.split()[1])
        self.headers = head.decode(errors="replace")
        if self.status == 101:
            accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
            assert f"Sec-WebSocket-Accept: {accept}".lower() in self.headers.lower(), self.headers

    def _read(self, n):
        while len(self.pending) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.pending += chunk
        out, self.pending = self.pending[:n], self.pending[n:]
        return out

    def send(self, payload, opcode=1):
        if isinstance(payload, str):
            payload = payload.encode()
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def recv(self, timeout=5):
        """(opcode, payload) of the next data or close frame; pings are answered."""
        self.sock.settimeout(timeout)
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 9:
                self.send(payload, opcode=10)
                continue
            if opcode == 10:
                continue
            return opcode, payload

    def recv_json(self, timeout=5):
        opcode, payload = self.recv(timeout)
        assert opcode == 1, (opcode, payload)
        return json.loads(payload)

    def recv_close(self, timeout=5):
        """(code, reason) of the server's close frame (data frames before it are skipped)."""
        while True:
            opcode, payload = self.recv(timeout)
            if opcode == 8:  # answer it, as a browser does
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                try:
                    self.send(payload[:2], opcode=8)
                except OSError:
                    pass
                return code, payload[2:].decode(errors="replace")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


@contextlib.contextmanager
def room_pair(port, room):
    """Two peers in `room`: (the first, which waited, the second); both closed after."""
    a = Ws(port, f"/ws?room={room}")
    b = None
    try:
        assert a.status == 101, a.headers
        assert a.recv_json() == {"type": "joined", "peers": 1}
        b = Ws(port, f"/ws?room={room}")
        assert b.status == 101, b.headers
        assert b.recv_json() == {"type": "joined", "peers": 2}
        assert a.recv_json() == {"type": "peer-joined"}
        yield a, b
    finally:
        a.close()
        if b:
            b.close()


def test_pages_have_strict_headers(web):
    for path, ctype in [("/", "text/html"), ("/call?room=x", "text/html"), ("/ice", "text/html"),
                        ("/call.js", "text/javascript"), ("/ice.js", "text/javascript"),
                        ("/web.css", "text/css")]:
        status, headers, body = get(web.web_port, path)
        assert status == 200, (path, body)
        assert headers["Content-Type"].startswith(ctype), path
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "unsafe-inline" not in csp, csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert "camera=(self)" in headers["Permissions-Policy"]
    for path in ["/../call.js", "/%2e%2e/call.js", "/etc/passwd", "/server/web/call.js"]:
        assert get(web.web_port, path)[0] == 404, path
    assert get(web.web_port, "/call", method="POST")[0] == 405
    assert get(web.web_port, "/call", method="DELETE")[0] == 405


def test_raw_hostile_requests_get_no_file(web):
    for raw in [b"GET /call\x00.js HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000,
                b"\x16\x03\x01\x00\x05hello"]:
        with socket.create_connection(("127.0.0.1", web.web_port), timeout=5) as s:
            s.sendall(raw)
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionResetError, socket.timeout):
                pass
            assert b"200 OK" not in data, (raw[:40], data[:200])
    assert get(web.web_port, "/")[0] == 200  # still serving


def test_credentials_allocate_and_are_rate_limited(web):
    status, headers, body = get(web.web_port, "/credentials")
    assert status == 200, body
    assert headers["Cache-Control"] == "no-store"
    cred = json.loads(body)
    assert cred["ttl"] == 300
    assert SECRET not in body
    stun, turn = cred["iceServers"]
    host, port = web.address_for("v4")
    assert f"stun:{host}:{port}" in stun["urls"]
    assert f"turn:{host}:{port}?transport=udp" in turn["urls"]
    assert turn["username"].endswith(":web-demo")
    expiry = int(turn["username"].split(":")[0])
    assert abs(expiry - (time.time() + 300)) < 30
    c = TurnClient((host, port), "udp", username=turn["username"], password=turn["credential"])
    try:
        c.allocate()  # raises unless the server accepts what it minted
    finally:
        c.close()
    statuses = [get(web.web_port, "/credentials")[0] for _ in range(12)]
    assert statuses.count(200) <= 9 and statuses[-1] == 429, statuses  # 10 a minute
    assert get(web.web_port, "/call")[0] == 200  # the pages are not part of that budget


def test_relay_between_two_peers(web):
    with room_pair(web.web_port, "relay-room") as (a, b):
        offer = '{"type":"offer","sdp":"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n", "x": [1, 2.5, null]}'
        a.send(offer)
        opcode, got = b.recv()
        assert opcode == 1 and got.decode() == offer  # verbatim
        b.send('{"type":"answer","sdp":"v=0"}')
        assert a.recv_json() == {"type": "answer", "sdp": "v=0"}
        for i in range(5):
            a.send(json.dumps({"type": "candidate", "candidate": {"candidate": f"c{i}"}}))
        for i in range(5):
            assert b.recv_json()["candidate"]["candidate"] == f"c{i}"
        b.send('{"type":"bye"}')
        assert a.recv_json() == {"type": "bye"}
        b.close()
        assert a.recv_json() == {"type": "peer-left"}
        # A newcomer joins the waiting peer.
        c = Ws(web.web_port, "/ws?room=relay-room")
        assert c.recv_json() == {"type": "joined", "peers": 2}
        assert a.recv_json() == {"type": "peer-joined"}
        c.close()


def test_third_peer_is_refused(web):
    with room_pair(web.web_port, "full-room") as (a, b):
        c = Ws(web.web_port, "/ws?room=full-room")
        assert c.status == 101
        code, reason = c.recv_close()
        assert code == 4001 and "full" in reason, (code, reason)
        c.close()
        a.send('{"type":"offer","sdp":"x"}')  # the two inside go on
        assert b.recv_json()["type"] == "offer"


@pytest.mark.parametrize("message,code,words", [
    ("{not json", 4003, "not JSON"),
    ('["offer"]', 4003, "not a JSON object"),
    ('{"type":"hello"}', 4003, "unknown message type"),
    ('{"sdp":"x"}', 4003, "no \"type\""),
    ('{"type":"offer","sdp":"' + "a" * (17 * 1024) + '"}', 1009, ""),
])
def test_bad_message_closes_that_socket_only(web, message, code, words):
    with room_pair(web.web_port, f"bad-{code}-{len(message)}") as (a, b):
        a.send(message)
        got_code, reason = a.recv_close()
        assert got_code == code and words in reason, (got_code, reason)
        assert b.recv_json() == {"type": "peer-left"}
        # b is still open: a new peer joins it
        c = Ws(web.web_port, f"/ws?room=bad-{code}-{len(message)}")
        assert c.recv_json() == {"type": "joined", "peers": 2}
        c.close()


def test_binary_and_too_many_messages_close(web):
    with room_pair(web.web_port, "flood-room") as (a, b):
        for i in range(300):
            a.send('{"type":"candidate","candidate":{}}')
        code, reason = a.recv_close(timeout=10)
        assert code == 4004 and "too many" in reason, (code, reason)
    a = Ws(web.web_port, "/ws?room=binary-room")
    try:
        a.recv_json()
        a.send(b'{"type":"offer"}', opcode=2)
        assert a.recv_close()[0] == 4003
    finally:
        a.close()


@pytest.mark.parametrize("target,status", [
    ("/ws?room=a.b", 400), ("/ws?room=" + "x" * 65, 400), ("/ws?room=", 400), ("/ws", 400),
    ("/ws?room=%2e%2e", 400), ("/ws?room=a%00b", 400), ("/ws?room=a&room=b", 400)])
def test_bad_room_names(web, target, status):
    ws = Ws(web.web_port, target)
    try:
        assert ws.status == status, ws.headers
        assert "application/json" in ws.headers
    finally:
        ws.close()


def test_other_origins_cannot_signal(web):
    ws = Ws(web.web_port, "/ws?room=origin", origin="https://evil.example")
    assert ws.status == 403
    ws.close()
    ws = Ws(web.web_port, "/ws?room=origin", origin=f"http://127.0.0.1:{web.web_port}")
    assert ws.status == 101
    ws.close()


def test_connections_per_source_are_capped(web):
    held = []
    try:
        for _ in range(16):
            held.append(socket.create_connection(("127.0.0.1", web.web_port), timeout=5))
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", web.web_port), timeout=5)
        extra.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            assert extra.recv(100) == b""  # closed without an answer
        except ConnectionResetError:
            pass
        extra.close()
    finally:
        for s in held:
            s.close()
    time.sleep(0.2)
    assert get(web.web_port, "/")[0] == 200


def test_demo_off_serves_nothing(threads):
    s = start_web(threads, demo=False, secrets=[SECRET])
    try:
        for path in ["/", "/call", "/ice", "/credentials"]:
            assert get(s.web_port, path)[0] == 404, path
        assert "pages off" in s.log_text()
    finally:
        stop_server(s)


def test_no_secret_is_a_clear_503(threads):
    s = start_web(threads, users=[("alice", "pw")])
    try:
        status, headers, body = get(s.web_port, "/credentials")
        assert status == 503 and headers["Content-Type"] == "application/json"
        assert "no REST secret" in json.loads(body)["error"]
        assert "no REST secret" in s.log_text()
    finally:
        stop_server(s)


def test_stop_with_sockets_open_is_quick(threads):
    s = start_web(threads, secrets=[SECRET])
    with room_pair(s.web_port, "stop-room"):
        held = socket.create_connection(("127.0.0.1", s.web_port), timeout=5)
        t0 = time.monotonic()
        stop_server(s)
        assert time.monotonic() - t0 < 5
        held.close()


def test_plain_http_off_loopback_is_a_config_error(tmp_path):
    p = subprocess.run([procs.turnd_binary(), "--check-config", "--auth-secret", "s",
                        "--web-listen", "0.0.0.0:8443"], capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "--web-listen" in p.stderr and "tls.cert" in p.stderr, p.stderr
    config = tmp_path / "turnd.yaml"
    config.write_text("auth:\n  secrets: [s]\nweb:\n  listen: \"192.0.2.1:8443\"\n  demo: true\n")
    p = subprocess.run([procs.turnd_binary(), "--check-config", "--config", str(config)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert f"{config}:4: web.listen" in p.stderr and "listen on 127.0.0.1" in p.stderr, p.stderr


def test_https_with_the_tls_certificate(threads, tmp_path):
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    s = start_web(threads, secrets=[SECRET], more_args=["--tls-cert", cert, "--tls-key", key])
    try:
        tls = ssl.create_default_context(cafile=cert)  # verifies the chain and the name
        with urllib.request.urlopen(f"https://127.0.0.1:{s.web_port}/call", context=tls, timeout=5) as r:
            assert r.status == 200 and "default-src 'self'" in r.headers["Content-Security-Policy"]
        with urllib.request.urlopen(f"https://127.0.0.1:{s.web_port}/credentials", context=tls,
                                    timeout=5) as r:
            assert "iceServers" in json.loads(r.read())
        a = Ws(s.web_port, "/ws?room=tls-room", tls=tls,
               origin=f"https://127.0.0.1:{s.web_port}")
        b = Ws(s.web_port, "/ws?room=tls-room", tls=tls)
        try:
            assert a.recv_json() == {"type": "joined", "peers": 1}
            assert b.recv_json() == {"type": "joined", "peers": 2}
            assert a.recv_json() == {"type": "peer-joined"}
            a.send('{"type":"offer","sdp":"over wss"}')
            assert b.recv_json() == {"type": "offer", "sdp": "over wss"}
        finally:
            a.close()
            b.close()
        # Plain HTTP on the HTTPS port gets no page.
        with socket.create_connection(("127.0.0.1", s.web_port), timeout=5) as raw:
            raw.sendall(b"GET /call HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                assert b"200 OK" not in raw.recv(4096)
            except ConnectionResetError:
                pass
        assert f"web listener on https://127.0.0.1:{s.web_port}" in s.log_text()
    finally:
        stop_server(s)
