"""Hostile clients on the TLS and DTLS listeners (issue 12), while an honest client relays
numbered messages over TLS (or DTLS) through a channel to an echo peer: none may be lost.

TLS: an HTTP request and random bytes are closed at once (reason not_tls); a truncated
ClientHello followed by silence is closed after --tls-handshake-timeout (2 s here, reason
timeout); 50 slow-loris connections dripping a ClientHello one byte a second are closed by the
same deadline (bytes do not extend it); a TLS 1.1-only client is refused (protocol_version).
DTLS: garbage datagrams get no answer and a flood of ClientHellos from 100 source addresses gets
at most one HelloVerifyRequest each, smaller than the request (no amplification), and makes no
session. Half-open: a DTLS session left after the cookie exchange ends at the handshake timeout,
a TLS session that sends no STUN at --first-message-timeout. Limits:
--max-connections-per-source 3 refuses the 4th TLS connection and the 4th DTLS session from one
address. Clients that vanish (close right after the handshake with session tickets unread,
reset under relayed traffic or mid-ClientHello) leave turnd running."""

import os
import select
import socket
import ssl
import struct
import threading
import time

import pytest

import _paths  # noqa: F401
import procs
import tlslib
from tlslib import HOST, SECRET
from turnclient import StunClient, TurnClient, rest_credentials, tls_client_context
from turnclient.secure import (DtlsHandshakeError, TlsTransport, dtls_client_connection,
                               dtls_client_hello, dtls_output, dtls_step, handshake_types)

TIMEOUT = 2.0  # --tls-handshake-timeout of these tests
CHANNEL = 0x4002


@pytest.fixture
def server(server_factory, threads, tmp_path):
    pair = tlslib.make_pair(str(tmp_path), "server")
    return tlslib.start_tls_server(server_factory, threads, pair, extra=[
        "--tls-handshake-timeout", f"{TIMEOUT:g}s", "--first-message-timeout", f"{TIMEOUT:g}s"])


@pytest.fixture
def peer():
    p = tlslib.EchoPeer()
    yield p
    p.close()


def honest_relay(server, kind, peer, user):
    u, p = rest_credentials(SECRET, user)
    c = TurnClient(server.tls if kind == "tls" else server.dtls, kind, username=u, password=p)
    assert c.allocate().is_success, c.last_response
    assert c.channel_bind(CHANNEL, peer.address).is_success, c.last_response
    return c, tlslib.NumberedRelay(c, CHANNEL, peer).start()


def check_relay(relay):
    relay.stop()
    print(f"[figures] honest relay during the attack: {relay.summary()}")
    assert relay.error is None, relay.summary()
    assert relay.sent >= 50, relay.summary()
    assert not relay.lost and not relay.wrong, relay.summary()
    assert relay.max_rtt < 1.0, "the honest client waited: " + relay.summary()


def client_hello() -> bytes:
    """The first flight of a TLS client (a whole ClientHello record)."""
    out = ssl.MemoryBIO()
    obj = tls_client_context().wrap_bio(ssl.MemoryBIO(), out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def connect(server, src=HOST) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(3)
    s.connect(server.tls)
    return s


def wait_closed(s: socket.socket, timeout: float):
    """(closed, bytes received) when the server closes s within timeout."""
    got = b""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False, got
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return False, got
        except OSError:
            return True, got
        if not chunk:
            return True, got
        got += chunk


class SlowLoris:
    """n connections, each sending a ClientHello one byte a second (a thread); the time each
    one was closed by the server."""

    def __init__(self, server, n):
        self.hello = client_hello()
        self.socks = [connect(server, f"127.0.0.{10 + i % 50}") for i in range(n)]
        self.start = time.monotonic()
        self.closed_after = [None] * n
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        for second in range(60):
            if self._stop.is_set():
                return
            for i, s in enumerate(self.socks):
                if self.closed_after[i] is not None:
                    continue
                try:
                    if second < len(self.hello):
                        s.send(self.hello[second:second + 1])
                    r, _, _ = select.select([s], [], [], 0)
                    if r and not s.recv(4096):
                        self.closed_after[i] = time.monotonic() - self.start
                except OSError:
                    self.closed_after[i] = time.monotonic() - self.start
            if all(c is not None for c in self.closed_after):
                return
            self._stop.wait(1.0)

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        for s in self.socks:
            s.close()


def test_hostile_tls_clients_do_not_disturb_a_relay(server, peer):
    m0 = tlslib.scrape(server.admin)
    tlslib.require_tls_metrics(m0)
    honest, relay = honest_relay(server, "tls", peer, "honest-tls")
    loris = SlowLoris(server, 50)
    try:
        # not TLS at all: closed at once, and answered by nothing but (at most) an alert
        for junk in (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", os.urandom(1500),
                     b"\x16\x03\x01\xff\xff" + os.urandom(200), b"\x00" * 64):
            s = connect(server)
            s.sendall(junk)
            closed, got = wait_closed(s, TIMEOUT + 2)
            s.close()
            assert closed, f"{junk[:16]!r}... not closed within {TIMEOUT + 2} s"
            assert len(got) <= 7 * 2 and b"HTTP" not in got, f"reply to junk: {got!r}"
        # a truncated ClientHello, then silence: closed by the handshake timeout
        hello = client_hello()
        s = connect(server)
        t0 = time.monotonic()
        s.sendall(hello[: len(hello) // 2])
        closed, _ = wait_closed(s, TIMEOUT + 4)
        took = time.monotonic() - t0
        s.close()
        assert closed and TIMEOUT - 0.5 <= took <= TIMEOUT + 2.5, \
            f"truncated ClientHello: closed={closed} after {took:.1f} s (timeout {TIMEOUT} s)"
        # a TLS 1.1-only client is refused
        v = ssl.TLSVersion.TLSv1_1
        with pytest.raises(OSError):
            TlsTransport(server.tls, context=tls_client_context(
                min_version=v, max_version=v, ciphers="DEFAULT@SECLEVEL=0")).close()
        # a new honest client is served at once while the slow loris drips
        t0 = time.monotonic()
        with StunClient(server.tls, "tls") as c:
            assert c.binding().is_success
        assert time.monotonic() - t0 < 1.5, "a new TLS client waited behind the slow loris"
        # every slow-loris connection closed by the deadline although it keeps sending
        assert tlslib.wait_for(lambda: all(c is not None for c in loris.closed_after), TIMEOUT + 6)
        late = [round(c, 1) for c in loris.closed_after if c is None or c > TIMEOUT + 2.5]
        assert not late, f"slow-loris connections closed after {late} s (timeout {TIMEOUT} s)"
        print(f"[figures] 50 slow-loris connections closed after "
              f"{min(loris.closed_after):.1f}-{max(loris.closed_after):.1f} s")
    finally:
        loris.stop()
        check_relay(relay)
        honest.close()
    m1 = tlslib.scrape(server.admin)
    grew = {r: tlslib.failures(m1, "tls", r) - tlslib.failures(m0, "tls", r) for r in tlslib.REASONS}
    print(f"[figures] TLS handshake failures by reason: {grew}")
    assert grew["timeout"] >= 51, grew
    assert grew["not_tls"] >= 3, grew
    assert grew["protocol_version"] >= 1, grew


def udp_socket(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    return s


def collect(socks, seconds):
    """{sock: [datagrams]} received within seconds."""
    out = {s: [] for s in socks}
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        r, _, _ = select.select(socks, [], [], left)
        for s in r:
            try:
                out[s].append(s.recv(65536))
            except OSError:
                pass


def is_hello_verify_request(d: bytes) -> bool:
    # DTLS record header (13 bytes): type 22, epoch 0; handshake message type 3
    return len(d) >= 14 and d[0] == 22 and d[3:5] == b"\0\0" and d[13] == 3


def test_dtls_garbage_and_hello_flood_make_no_session(server, peer):
    m0 = tlslib.scrape(server.admin)
    tlslib.require_tls_metrics(m0)
    honest, relay = honest_relay(server, "dtls", peer, "honest-dtls")
    try:
        conns = tlslib.open_connections(server.admin, settle_to=1)  # the honest session
        m0 = tlslib.scrape(server.admin)
        hellos = [dtls_client_hello() for _ in range(4)]
        flood = [udp_socket(f"127.0.0.{2 + i}") for i in range(100)]
        junk_socks = [udp_socket(f"127.0.1.{2 + i}") for i in range(20)]
        sent_hello = sent_junk = 0
        for i, s in enumerate(flood):
            h = hellos[i % len(hellos)]
            s.sendto(h, server.dtls)
            sent_hello += len(h)
        junk = [os.urandom(300), b"\x16\xfe\xfd" + os.urandom(40), hellos[0][:40],
                b"\x17\xfe\xfd\x00\x01" + os.urandom(60), b"\x15\xfe\xfd" + b"\0" * 10 + b"\x00\x02\x02\x28",
                os.urandom(13)]
        for i, s in enumerate(junk_socks):
            d = junk[i % len(junk)]
            s.sendto(d, server.dtls)
            sent_junk += len(d)
        got = collect(flood + junk_socks, 1.5)
        flood_replies = [d for s in flood for d in got[s]]
        junk_replies = [d for s in junk_socks for d in got[s]]
        reply_bytes = sum(len(d) for d in flood_replies)
        ratio = reply_bytes / sent_hello
        print(f"[figures] DTLS ClientHello flood: {len(flood)} hellos, {sent_hello} bytes -> "
              f"{len(flood_replies)} replies, {reply_bytes} bytes (x{ratio:.2f}); "
              f"{len(junk_socks)} junk datagrams ({sent_junk} bytes) -> {len(junk_replies)} replies "
              f"({sum(map(len, junk_replies))} bytes)")
        assert all(len(got[s]) <= 1 for s in flood), "more than one reply to a ClientHello"
        assert all(is_hello_verify_request(d) for d in flood_replies), \
            [d[:16].hex() for d in flood_replies if not is_hello_verify_request(d)][:5]
        assert ratio <= 1.0, f"HelloVerifyRequests ({reply_bytes} B) larger than the hellos ({sent_hello} B)"
        assert len(flood_replies) >= len(flood) // 2, "most ClientHellos got no cookie"
        assert not [d for d in junk_replies if not is_hello_verify_request(d)], \
            f"junk answered: {[d[:16].hex() for d in junk_replies]}"
        for s in flood + junk_socks:
            s.close()
        # no session: no handshake done, no connection counted beyond the honest one
        m1 = tlslib.scrape(server.admin)
        assert tlslib.handshakes(m1, "dtls") == tlslib.handshakes(m0, "dtls"), (m0, m1)
        assert m1["turnd_tcp_connections"] == conns, \
            f"sessions/connections {conns} -> {m1['turnd_tcp_connections']}"
        hv = 'turnd_dtls_datagrams_total{kind="hello_verify_sent"}'
        dropped = 'turnd_dtls_datagrams_total{kind="dropped"}'
        assert m1.get(hv, 0) - m0.get(hv, 0) >= len(flood_replies), (m0.get(hv), m1.get(hv))
        assert m1.get(dropped, 0) - m0.get(dropped, 0) >= len(junk_socks) // 2, (m0.get(dropped), m1.get(dropped))
        # an honest DTLS client still gets through
        with StunClient(server.dtls, "dtls") as c:
            assert c.binding().is_success
    finally:
        check_relay(relay)
        honest.close()


def test_connection_limits_cover_tls_and_dtls(server_factory, threads, tmp_path):
    pair = tlslib.make_pair(str(tmp_path), "server")
    s = tlslib.start_tls_server(server_factory, threads, pair, extra=[
        "--max-connections-per-source", "3", "--limit-loopback",
        "--tls-handshake-timeout", f"{TIMEOUT:g}s"])
    m0 = tlslib.scrape(s.admin)
    conns = [StunClient(s.tls, "tls", local_ip="127.0.0.5") for _ in range(3)]
    try:
        assert all(c.binding().is_success for c in conns)
        try:
            fourth = StunClient(s.tls, "tls", local_ip="127.0.0.5")
            served = fourth.binding(timeout=1.5) is not None
            fourth.close()
        except OSError:  # refused at accept: the handshake fails
            served = False
        assert not served, "a 4th TLS connection from 127.0.0.5 was served with a limit of 3"
        with StunClient(s.tls, "tls", local_ip="127.0.0.6") as other:
            assert other.binding().is_success, "another source refused too"
        m = tlslib.scrape(s.admin)
        assert m.get('turnd_tcp_connections_refused_total{reason="per_source"}', 0) >= \
            m0.get('turnd_tcp_connections_refused_total{reason="per_source"}', 0) + 1, m
        conns.pop().close()
        assert tlslib.wait_for(lambda: _served_tls(s), 3), "no room after one connection closed"
    finally:
        for c in conns:
            c.close()

    sessions = [StunClient(s.dtls, "dtls", local_ip="127.0.0.7") for _ in range(3)]
    try:
        assert all(c.binding().is_success for c in sessions)
        with pytest.raises((DtlsHandshakeError, OSError)):
            StunClient(s.dtls, "dtls", local_ip="127.0.0.7",
                       transport_options={"handshake_timeout": 2.0}).close()
        m = tlslib.scrape(s.admin)
        assert m.get('turnd_dtls_sessions_refused_total{reason="per_source"}', 0) >= 1, \
            {k: v for k, v in m.items() if "refused" in k}
        with StunClient(s.dtls, "dtls", local_ip="127.0.0.8") as other:
            assert other.binding().is_success
    finally:
        for c in sessions:
            c.close()


def test_new_tls_connections_and_dtls_sessions_per_source_are_rate_limited(
        server_factory, threads, tmp_path):
    """--max-connection-rate-per-source 3: a source that handshakes and hangs up as fast as it
    can (each handshake costs turnd a signature) gets a burst of 6, then 3 a second; the rest
    are closed at accept, before any TLS. Another source is not held back."""
    rate = 3
    pair = tlslib.make_pair(str(tmp_path), "server")
    s = tlslib.start_tls_server(server_factory, threads, pair, extra=[
        "--max-connection-rate-per-source", str(rate), "--max-connections-per-source", "0",
        "--limit-loopback", "--tls-handshake-timeout", f"{TIMEOUT:g}s"])
    key = 'turnd_tcp_connections_refused_total{reason="rate"}'
    m0 = tlslib.scrape(s.admin)
    t0 = time.monotonic()
    served = 0
    attempts = 20
    for _ in range(attempts):
        try:
            with StunClient(s.tls, "tls", local_ip="127.0.0.11") as c:
                served += c.binding(timeout=1.0) is not None
        except OSError:  # closed at accept: the handshake fails
            pass
    elapsed = time.monotonic() - t0
    assert 2 * rate <= served <= 2 * rate + rate * elapsed + 1, (served, elapsed)
    m = tlslib.scrape(s.admin)
    assert m.get(key, 0) - m0.get(key, 0) == attempts - served, m.get(key)
    with StunClient(s.tls, "tls", local_ip="127.0.0.12") as other:
        assert other.binding().is_success, "another source was held back too"
    time.sleep(1.0)
    with StunClient(s.tls, "tls", local_ip="127.0.0.11") as again:
        assert again.binding().is_success, "the budget did not refill"

    # DTLS: a session is counted once the client returned its cookie (its address is real).
    key = 'turnd_dtls_sessions_refused_total{reason="rate"}'
    t0 = time.monotonic()
    sessions, refused = 0, 0
    for _ in range(2 * rate + 2):
        try:
            with StunClient(s.dtls, "dtls", local_ip="127.0.0.13",
                            transport_options={"handshake_timeout": 1.0}) as c:
                sessions += c.binding(timeout=1.0) is not None
        except (DtlsHandshakeError, OSError):
            refused += 1
    elapsed = time.monotonic() - t0
    assert sessions >= 2 * rate and refused >= 1, (sessions, refused, elapsed)
    assert tlslib.scrape(s.admin).get(key, 0) >= 1


def _served_tls(s) -> bool:
    try:
        with StunClient(s.tls, "tls", local_ip="127.0.0.5") as c:
            return c.binding(timeout=1.0) is not None
    except OSError:
        return False


def reset_close(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0): the server's next write fails with EPIPE/ECONNRESET."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_clients_that_vanish_do_not_kill_the_server(server, peer):
    """Regression test: turnd 5579441 was killed by SIGPIPE when a TLS 1.3 client closed right
    after its handshake, before reading the session tickets the server then wrote (OpenSSL's
    socket BIO write() got EPIPE); f828913 ignores SIGPIPE."""
    ctx = tls_client_context()
    for i in range(20):  # handshake, then gone before the tickets are read
        try:
            t = ctx.wrap_socket(socket.create_connection(server.tls, timeout=3))
            (reset_close if i % 2 else socket.socket.close)(t)
        except OSError as e:
            print(f"client {i}: {e!r}")
        time.sleep(0.05)
        assert server.alive(), (f"turnd died after {i + 1} TLS 1.3 client(s) closed right after "
                                f"the handshake ({procs.describe_status(server.proc.returncode)})\n"
                                + server.log_tail(10))
    # an allocation whose client resets while the peer keeps sending to it
    u, p = rest_credentials(SECRET, "vanishing")
    c = TurnClient(server.tls, "tls", username=u, password=p)
    assert c.allocate().is_success and c.channel_bind(CHANNEL, peer.address).is_success
    relay_addr = c.relayed[0]
    reset_close(c.transport.sock)
    c.transport.closed = True
    for i in range(200):  # the peer has a channel: relayed to the reset connection
        peer.sock.sendto(b"to a gone client %d" % i, relay_addr)
    # a half ClientHello, then an RST
    s = connect(server)
    s.sendall(client_hello()[:50])
    reset_close(s)
    time.sleep(0.5)
    assert server.alive(), "turnd died when TLS clients vanished:\n" + server.log_tail(20)
    with StunClient(server.tls, "tls") as fresh:
        assert fresh.binding().is_success


def test_half_open_sessions_are_closed(server):
    """A DTLS client that returns the cookie and then goes silent holds a session (counted with
    the connections) only until the handshake timeout; a TLS client that finishes the handshake
    and sends no STUN is closed by --first-message-timeout, as over TCP."""
    conns = tlslib.open_connections(server.admin, settle_to=0)
    m0 = tlslib.scrape(server.admin)
    conn = dtls_client_connection()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind((HOST, 0))
        u.connect(server.dtls)
        u.settimeout(2)
        dtls_step(conn)
        u.send(dtls_output(conn))
        hvr = u.recv(4096)
        assert handshake_types(hvr) == [3], hvr.hex()
        conn.bio_write(hvr)
        dtls_step(conn)
        u.send(dtls_output(conn))  # the ClientHello with the cookie: now the server keeps a session
        assert 2 in handshake_types(u.recv(8192)), "no ServerHello after the cookie"
        assert tlslib.open_connections(server.admin) == conns + 1
        t0 = time.monotonic()
        assert tlslib.wait_for(lambda: tlslib.open_connections(server.admin) == conns, TIMEOUT + 3), \
            "DTLS session kept"
        took = time.monotonic() - t0
    assert TIMEOUT - 0.5 <= took <= TIMEOUT + 2.5, f"half DTLS handshake released after {took:.1f} s"
    m1 = tlslib.scrape(server.admin)
    assert tlslib.failures(m1, "dtls", "timeout") == tlslib.failures(m0, "dtls", "timeout") + 1

    with StunClient(server.tls, "tls") as c:
        t0 = time.monotonic()
        assert c.transport.wait_closed(TIMEOUT + 3), "a TLS session without STUN stays open"
        took = time.monotonic() - t0
    assert TIMEOUT - 0.5 <= took <= TIMEOUT + 2.5, f"silent TLS session closed after {took:.1f} s"


def test_dtls_cookie_is_bound_to_the_address(server):
    """A cookie obtained from one address and replayed from another makes no session: the
    server answers at most another HelloVerifyRequest (RFC 6347 §4.2.1)."""
    conns = tlslib.open_connections(server.admin, settle_to=0)
    conn = dtls_client_connection()
    with udp_socket("127.0.0.20") as a, udp_socket("127.0.0.21") as b:
        a.connect(server.dtls)
        a.settimeout(2)
        dtls_step(conn)
        a.send(dtls_output(conn))
        hvr = a.recv(4096)
        assert handshake_types(hvr) == [3], hvr.hex()
        conn.bio_write(hvr)
        dtls_step(conn)
        with_cookie = dtls_output(conn)
        b.sendto(with_cookie, server.dtls)
        replies = collect([b], 1.0)[b]
        assert all(handshake_types(d) == [3] for d in replies), \
            f"replayed cookie answered with handshake types {[handshake_types(d) for d in replies]}"
        assert tlslib.open_connections(server.admin) == conns
        a.send(with_cookie)  # from the address it was made for, the same bytes do proceed
        assert 2 in handshake_types(a.recv(8192)), "no ServerHello for the cookie's own address"
