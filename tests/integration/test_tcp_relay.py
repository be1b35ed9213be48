"""RFC 6062 TCP relaying (issue 14) against the real server: TCP allocations, Connect,
ConnectionAttempt, ConnectionBind, the data connections' bytes both ways, closing rules,
lifetimes, quotas, the peer filter, and hostile clients.

Peers are TCP sockets of this process on loopback (tests/lib/tcp_peer.py); the server runs with
`--allow-peer 127.0.0.0/8 --allow-peer ::1/128` and `--deny-peer 127.0.0.2/32` (a loopback peer
the filter refuses). Clients use tests/lib/turnclient (TurnClient.connect / connection_bind /
recv_connection_attempt and tcprelay.DataConnection). Each file run uses one --threads value
(TURND_THREADS); with 2 threads a data connection often lands on another shard than its
allocation, so the tests that open many connections cover both cases.

Markers: slow (waits for the 30 s timeouts; own ctest entry), turnd_only (turnd flags, TLS,
metrics, or where coturn 4.6.1 answers differently: see the reasons), rfc_only.
"""

import hashlib
import os
import re
import socket
import ssl
import struct
import subprocess
import threading
import time

import pytest

import _paths  # noqa: F401
import admin_metrics
import procs
from conftest import SERVER_KIND, start_server, stop_server
from tcp_peer import TcpPeer, fill_backlog, peer_connect
from turnclient import codec
from turnclient.codec import Attr, AttrType, FAMILY_V4, FAMILY_V6, PROTO_TCP, PROTO_UDP
from turnclient.client import TurnClient, rest_credentials
from turnclient.tcprelay import set_linger_zero
from turnclient.transport import ConnectionClosed

pytestmark = pytest.mark.turn

SECRET = "tcp-relay-" + os.urandom(6).hex()
API_KEY = "k-tcp-relay-0123456789abcdef"
REALM = "turnd.test"
DENIED_PEER_IP = "127.0.0.2"        # --deny-peer 127.0.0.2/32 (more specific than the allow)
MB = 1 << 20
CONNECT_TIMEOUT = 30                 # RFC 6062: Connect gives up, pending connections close
QUIET = 0.5
TURND = SERVER_KIND == "turnd"

coturn_differs = pytest.mark.turnd_only


# --- fixtures --------------------------------------------------------------------------------

def make_cert(directory):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1", "-days", "2", "-keyout", key, "-out", cert],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return cert, key


def server_config(threads, tmp_dir, **kw):
    """Listen on 127.0.0.1 and ::1 (one port), relay on both families; turnd also gets a TLS
    listener (s.tls) and the admin listener (s.admin_port) for /metrics."""
    port = procs.free_port()
    extra = list(kw.pop("extra_args", ()))
    yaml = ""
    tls = admin = None
    if TURND:
        cert, key = make_cert(tmp_dir)
        tls = ("127.0.0.1", procs.free_port("tcp"))
        admin = procs.free_port("tcp")
        extra += ["--tls-cert", cert, "--tls-key", key, "--listen-tls", procs.fmt_hostport(*tls)]
        yaml = f'admin:\n  listen: "127.0.0.1:{admin}"\n  api_key: "{API_KEY}"\n'
    cfg = procs.ServerConfig(listen=[("127.0.0.1", port), ("::1", port)], threads=threads,
                             realm=REALM, secrets=[SECRET], relay_ips=["127.0.0.1", "::1"],
                             deny_peers=[DENIED_PEER_IP + "/32"], extra_args=extra,
                             config_yaml=yaml, **kw)
    return cfg, tls, admin


def start(threads, tmp_dir, **kw):
    cfg, tls, admin = server_config(threads, tmp_dir, **kw)
    s = start_server(cfg)
    s.tls, s.admin_port = tls, admin
    return s


@pytest.fixture(scope="module")
def server(threads, tmp_path_factory):
    s = start(threads, str(tmp_path_factory.mktemp("tcprelay")))
    yield s
    stop_server(s)


@pytest.fixture
def fresh_server(threads, tmp_path):
    """start(**config) -> a server for one test (lifetimes, quotas), stopped after it."""
    started = []

    def make(**kw):
        s = start(threads, str(tmp_path), **kw)
        started.append(s)
        return s

    yield make
    for s in started:
        stop_server(s)


@pytest.fixture
def peer():
    """A loopback TCP peer exchanging nothing special: echo."""
    p = TcpPeer("echo")
    yield p
    p.close()


# --- helpers ---------------------------------------------------------------------------------

_users = iter(range(1, 1_000_000))


def creds(user=None):
    return rest_credentials(SECRET, user or f"user{next(_users)}")


def transports():
    return ["tcp", "tls"] if TURND else ["tcp"]


def client(server, kind="tcp", family="v4", user=None, **kw):
    """A TurnClient on a control connection (tcp / tls / udp) to the server."""
    if kind == "tls":
        if server.tls is None:
            pytest.skip("no TLS listener")
        addr = server.tls if family == "v4" else pytest.skip("TLS listener on 127.0.0.1 only")
    else:
        addr = server.address_for(family)
    u, p = creds(user)
    return TurnClient(addr, kind, username=u, password=p, **kw)


def tcp_allocation(server, kind="tcp", family="v4", relay_family=None, **kw):
    """A control connection holding a TCP allocation (asserted)."""
    c = client(server, kind, family, **kw)
    r = c.allocate(PROTO_TCP, family=relay_family)
    assert r is not None and r.is_success, describe(r)
    return c


def describe(r):
    return "no response" if r is None else r.describe()


def expect_error(r, code, what=""):
    assert r is not None, f"{what}: no response"
    assert r.is_error and r.error_code == code, f"{what}: expected {code}, got {r.describe()}"


def connect_ok(c, peer_addr):
    r = c.connect(peer_addr)
    assert r is not None and r.is_success, f"Connect {peer_addr}: {describe(r)}"
    assert r.connection_id is not None, "Connect success without CONNECTION-ID"
    return r.connection_id


def bind_ok(c, cid, **kw):
    d = c.connection_bind(cid, **kw)
    assert d.ok, f"ConnectionBind {cid}: {describe(d.response)}"
    return d


def relayed_pair(c, peer):
    """Connect c to the peer, bind a data connection: (data connection, peer connection)."""
    before = len(peer.connections)
    cid = connect_ok(c, peer.address)
    got = peer.wait_connections(before + 1, 5)
    assert len(got) == before + 1, "the peer saw no connection from the server"
    d = bind_ok(c, cid)
    return d, got[-1]


def sha(data):
    return hashlib.sha256(data).hexdigest()


def inbound_refused(relayed, timeout=2.0):
    """A peer connects to a relayed address: True when the server closes it at once (a reset
    can already hit the connect or the first read), False when it stays open."""
    try:
        s = socket.create_connection(relayed, timeout=timeout)
    except ConnectionResetError:
        return True
    with s:
        return closed_at_once(s, timeout)


def closed_at_once(sock, timeout=2.0):
    """True when the server closes (EOF or reset) a connection it accepted within timeout,
    without sending anything."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(100)
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return data == b""


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def metrics(server):
    return admin_metrics.scrape(server.admin_port, API_KEY)


def wait_for(cond, timeout=5.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


# --- Allocate ----------------------------------------------------------------------------------

def test_tcp_allocate_over_udp_400(server):
    with client(server, "udp") as c:
        expect_error(c.allocate(PROTO_TCP), 400, "TCP allocation over UDP")


@pytest.mark.parametrize("kind", transports())
def test_tcp_allocate_relayed_address_listens(server, kind):
    with tcp_allocation(server, kind) as c:
        relayed = c.relayed[0]
        assert relayed[0] == "127.0.0.1"
        lo, hi = server.relay_ports
        assert lo <= relayed[1] <= hi
        # The server listens there: the handshake completes (and, without a permission, the
        # connection is closed at once: test_inbound_without_permission_refused).
        try:
            socket.create_connection(relayed, timeout=2).close()
        except ConnectionResetError:
            pass  # accepted, then reset at once: listening all the same


@pytest.mark.parametrize("attr", ["dont_fragment", "even_port", "reservation_token", pytest.param(
    "additional_family", marks=coturn_differs("coturn 4.6.1 ignores ADDITIONAL-ADDRESS-FAMILY"))])
def test_tcp_allocate_with_udp_only_attributes_400(server, attr):
    kw = {"dont_fragment": {"dont_fragment": True}, "even_port": {"even_port": False},
          "reservation_token": {"reservation_token": os.urandom(8)},
          "additional_family": {"additional_family": FAMILY_V6}}[attr]
    with client(server) as c:
        expect_error(c.allocate(PROTO_TCP, **kw), 400, attr)


def test_tcp_allocate_ipv6(server):
    p = TcpPeer("exchange", host="::1", payload=os.urandom(65536), expect=65536)
    try:
        with tcp_allocation(server, relay_family=FAMILY_V6) as c:
            assert c.relayed[0][0] == "::1", c.relayed
            expect_error(c.connect(("127.0.0.1", p.address[1])), 443,
                         "IPv4 peer on an IPv6 allocation")
            d, pc = relayed_pair(c, p)
            out = os.urandom(65536)
            assert sha(d.exchange(out, 65536)) == sha(p.payload)
            assert pc.done.wait(5) and sha(bytes(pc.received)) == sha(out)
            d.close()
    finally:
        p.close()


# --- Connect -----------------------------------------------------------------------------------

@coturn_differs("coturn 4.6.1 answers 403 'Connect cannot be used with UDP relay'")
def test_connect_without_allocation_437(server, peer):
    with client(server) as c:
        expect_error(c.connect(peer.address), 437)


@coturn_differs("coturn 4.6.1 answers 403")
def test_connect_on_udp_allocation_400(server, peer):
    with client(server) as c:
        assert c.allocate(PROTO_UDP).is_success
        expect_error(c.connect(peer.address), 400)


def test_connect_without_peer_address_400(server):
    with tcp_allocation(server) as c:
        expect_error(c.connect(None), 400, "no XOR-PEER-ADDRESS")
        bad = Attr(AttrType.XOR_PEER_ADDRESS, b"\x00\x01\x12")  # 3 bytes
        expect_error(c.connect(None, extra=[bad]), 400, "truncated XOR-PEER-ADDRESS")


def test_connect_family_mismatch_443(server):
    p6 = TcpPeer("echo", host="::1")
    try:
        with tcp_allocation(server) as c:
            expect_error(c.connect(p6.address), 443)
    finally:
        p6.close()


@coturn_differs("coturn's --allowed-peer-ip range wins over a narrower --denied-peer-ip")
def test_connect_denied_peer_403(server):
    p = TcpPeer("echo", host=DENIED_PEER_IP)
    try:
        with tcp_allocation(server) as c:
            expect_error(c.connect(p.address), 403)
            assert p.wait_connections(1, QUIET) == [], "the server connected to a denied peer"
    finally:
        p.close()


def test_connect_refused_447(server):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: the server's connect is refused
    with tcp_allocation(server) as c:
        t = time.monotonic()
        expect_error(c.connect(("127.0.0.1", port)), 447)
        assert time.monotonic() - t < 5, "a refused connect must fail at once"


def test_connect_then_data_both_ways(server):
    """1 MB each way at the same time, hashed, over TCP (TLS: test_data_both_ways_tls)."""
    exchange_both_ways(server, "tcp", MB)


@pytest.mark.turnd_only("the TLS listener of the test server (coturn runs with --no-tls)")
def test_data_both_ways_tls(server):
    exchange_both_ways(server, "tls", MB)


def exchange_both_ways(server, kind, size):
    from_peer, from_client = os.urandom(size), os.urandom(size)
    p = TcpPeer("exchange", payload=from_peer, expect=size)
    try:
        with tcp_allocation(server, kind) as c:
            d, pc = relayed_pair(c, p)
            got = d.exchange(from_client, size, timeout=60)
            assert sha(got) == sha(from_peer), "peer -> client bytes differ"
            assert pc.done.wait(10), f"peer got {pc.count} of {size} bytes"
            assert sha(bytes(pc.received)) == sha(from_client), "client -> peer bytes differ"
            assert pc.local == p.address
            d.close()
            assert pc.wait_closed(5), "closing the data connection did not close the peer's"
    finally:
        p.close()


def test_connect_second_to_same_peer_446(server):
    """446 while the first connection to that peer is pending (not bound) and active (bound)."""
    p = TcpPeer("echo")
    try:
        with tcp_allocation(server) as c:
            cid = connect_ok(c, p.address)
            expect_error(c.connect(p.address), 446, "pending")
            d = bind_ok(c, cid)
            expect_error(c.connect(p.address), 446, "active")
            d.sendall(b"still works")
            assert d.recv_exact(11, 5) == b"still works"
            d.close()
    finally:
        p.close()


def test_connect_while_connecting_446(server):
    """A peer whose listener drops SYNs: the first Connect hangs; a second one to the same peer
    gets 446 at once (the answer to the first comes later: 447 after the timeout, not waited
    for here)."""
    p = TcpPeer("stall", accept=False, backlog=0)
    held = fill_backlog(p.address)
    try:
        with tcp_allocation(server) as c:
            tid = codec.random_tid()
            req, wire = c.build(codec.CONNECT, [Attr(AttrType.XOR_PEER_ADDRESS,
                                                     codec.encode_xor_address(p.address, tid))],
                                tid=tid)
            c.send_raw(wire)
            time.sleep(0.3)
            expect_error(c.connect(p.address), 446, "while connecting")
    finally:
        for s in held:
            s.close()
        p.close()


@coturn_differs("coturn 4.6.1 installs no permission on Connect: it refuses the inbound one")
def test_connect_installs_permission(server):
    """After Connect to a peer IP, an inbound connection from that IP (another port) is
    offered with a ConnectionAttempt (no CreatePermission needed)."""
    p = TcpPeer("echo")
    try:
        with tcp_allocation(server) as c:
            connect_ok(c, p.address)
            inbound = peer_connect(c.relayed[0])
            m = c.recv_connection_attempt(3)
            assert m is not None, "no ConnectionAttempt after Connect installed the permission"
            assert m.xor_peer_address == inbound.local
            inbound.close()
    finally:
        p.close()


# --- inbound connections (ConnectionAttempt) ---------------------------------------------------

def test_inbound_without_permission_refused(server):
    with tcp_allocation(server) as c:
        assert inbound_refused(c.relayed[0]), "a peer without permission was not closed at once"
        assert c.recv_connection_attempt(QUIET) is None


@pytest.mark.parametrize("kind", transports())
def test_inbound_connection_attempt_and_bind(server, kind):
    with tcp_allocation(server, kind) as c:
        assert c.create_permission([("127.0.0.1", 0)]).is_success
        inbound = peer_connect(c.relayed[0])
        m = c.recv_connection_attempt(3)
        assert m is not None, "no ConnectionAttempt"
        assert m.xor_peer_address == inbound.local
        assert m.connection_id is not None
        d = bind_ok(c, m.connection_id)
        from_peer, from_client = os.urandom(MB // 4), os.urandom(MB // 4)
        # the peer side is a plain socket: one thread per direction
        got = bytearray()
        recv_done = threading.Event()

        def peer_read():
            inbound.sock.settimeout(30)
            while len(got) < len(from_client):
                chunk = inbound.sock.recv(65536)
                if not chunk:
                    break
                got.extend(chunk)
            recv_done.set()

        threading.Thread(target=inbound.sock.sendall, args=(from_peer,), daemon=True).start()
        threading.Thread(target=peer_read, daemon=True).start()
        assert sha(d.exchange(from_client, len(from_peer), timeout=60)) == sha(from_peer)
        assert recv_done.wait(30)
        assert sha(bytes(got)) == sha(from_client)
        inbound.close()
        assert d.wait_closed(5), "the peer closed, the data connection stayed open"


# --- ConnectionBind ----------------------------------------------------------------------------

@coturn_differs("coturn 4.6.1 sends the 401 on the control connection and closes the new one")
def test_connection_bind_challenge_first(server, peer):
    with tcp_allocation(server) as c:
        cid = connect_ok(c, peer.address)
        d = c.connection_bind(cid, fresh_challenge=True)
        assert d.ok, describe(d.response)
        assert d.client.challenges and d.client.challenges[0].error_code == 401
        d.sendall(b"ping")
        assert d.recv_exact(4, 5) == b"ping"
        d.close()


@coturn_differs("coturn 4.6.1 closes the data connection instead of answering 441")
def test_connection_bind_other_user_441(server, peer):
    with tcp_allocation(server) as c:
        cid = connect_ok(c, peer.address)
        u, p = creds("someone-else")
        d = c.connection_bind(cid, username=u, password=p, fresh_challenge=True)
        expect_error(d.response, 441)
        d.close()
        # the connection is still pending: the right user binds it
        bind_ok(c, cid).close()


@coturn_differs("coturn 4.6.1 closes the connection instead of answering 400")
@pytest.mark.parametrize("case", ["absent", "unknown", "already_bound"])
def test_connection_bind_bad_id_400(server, peer, case):
    with tcp_allocation(server) as c:
        cid = connect_ok(c, peer.address)
        if case == "already_bound":
            first = bind_ok(c, cid)
            d = c.connection_bind(cid)
            first.close()
        else:
            d = c.connection_bind(None if case == "absent" else (cid ^ 0x5A5A5A5A))
        expect_error(d.response, 400, case)
        d.close()


@coturn_differs("coturn 4.6.1 closes the connection instead of answering 400")
def test_connection_bind_on_allocation_connection_400(server, peer):
    """ConnectionBind on a connection that holds an allocation (the control connection)."""
    with tcp_allocation(server) as c:
        cid = connect_ok(c, peer.address)
        r = c.request(codec.CONNECTION_BIND,
                      [Attr(AttrType.CONNECTION_ID, codec.encode_connection_id(cid))])
        expect_error(r, 400, "ConnectionBind on the control connection")
        bind_ok(c, cid).close()  # still pending, bindable from a new connection


def test_connection_bind_over_udp_400(server, peer):
    with tcp_allocation(server) as c:
        cid = connect_ok(c, peer.address)
        with client(server, "udp") as u:
            u.username, u.password = c.username, c.password
            r = u.request(codec.CONNECTION_BIND,
                          [Attr(AttrType.CONNECTION_ID, codec.encode_connection_id(cid))])
            expect_error(r, 400, "ConnectionBind over UDP")


@pytest.mark.parametrize("n", [24])
def test_many_connections_across_shards(server, n):
    """n data connections of 3 allocations, each carrying 64 KiB both ways: with --threads 2
    the kernel spreads both the control and the data connections over the shards."""
    from_peer = os.urandom(65536)
    p = TcpPeer("exchange", listeners=n, payload=from_peer, expect=65536)
    controls = [tcp_allocation(server) for _ in range(3)]
    try:
        pairs = []
        for i in range(n):
            c = controls[i % 3]
            cid = connect_ok(c, p.addresses[i])
            pairs.append((bind_ok(c, cid), cid))
        conns = p.wait_connections(n, 5)
        assert len(conns) == n
        outs = [os.urandom(65536) for _ in range(n)]
        for (d, _), out in zip(pairs, outs):
            assert sha(d.exchange(out, 65536, timeout=30)) == sha(from_peer)
        by_local = {pc.local: pc for pc in conns}
        for i, out in enumerate(outs):
            pc = by_local[p.addresses[i]]
            assert pc.done.wait(10) and sha(bytes(pc.received)) == sha(out), f"connection {i}"
        for d, _ in pairs:
            d.close()
        assert all(pc.wait_closed(5) for pc in conns)
    finally:
        for c in controls:
            c.close()
        p.close()


# --- closing -----------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["close", "reset"])
def test_peer_close_closes_data_connection(server, how):
    p = TcpPeer("stall")
    try:
        with tcp_allocation(server) as c:
            d, pc = relayed_pair(c, p)
            pc.sendall(b"last words")
            pc.abort() if how == "reset" else pc.close()
            if how == "close":
                assert d.recv_exact(10, 5) == b"last words"
            assert d.wait_closed(5), f"peer {how}: the data connection stayed open"
            d.close()
    finally:
        p.close()


@pytest.mark.parametrize("how", ["close", "reset"])
def test_client_close_closes_peer_connection(server, how):
    p = TcpPeer("sink")
    try:
        with tcp_allocation(server) as c:
            d, pc = relayed_pair(c, p)
            d.sendall(b"x" * 1000)
            d.abort() if how == "reset" else d.close()
            assert pc.wait_closed(5), f"client {how}: the peer connection stayed open"
            if how == "close":
                assert pc.count == 1000
            # the allocation lives on: once the server has seen the peer's side close too (a
            # moment after the peer saw ours: 446 until then), a new Connect to it works
            for _ in range(60):  # <= 3 s
                r = c.connect(p.address)
                if r is None or r.error_code != 446:
                    break
                time.sleep(0.05)
            assert r is not None and r.is_success, f"Connect again: {describe(r)}"
            assert len(p.wait_connections(2, 5)) == 2
    finally:
        p.close()


def three_connections(c, out_peer, in_peer_count=1):
    """Two data connections by Connect (one bound, one pending) and one inbound bound one:
    (data connections, peer connections)."""
    d, pc = relayed_pair(c, out_peer)
    connect_ok(c, out_peer.addresses[1])                  # pending, never bound
    pending = out_peer.wait_connections(2, 5)[-1]
    assert c.create_permission([("127.0.0.1", 0)]).is_success
    inbound = peer_connect(c.relayed[0]).watch()
    m = c.recv_connection_attempt(3)
    assert m is not None
    d_in = bind_ok(c, m.connection_id)
    d_in.sendall(b"hello")
    assert wait_for(lambda: inbound.count == 5)
    inbound_pending = peer_connect(c.relayed[0]).watch()  # attempt never bound
    assert c.recv_connection_attempt(3) is not None
    return [d, d_in], [pc, pending, inbound, inbound_pending]


@pytest.mark.parametrize("how", ["close_control", "refresh_zero"])
def test_deallocation_closes_everything(server, how):
    p = TcpPeer("sink", listeners=2)
    try:
        c = tcp_allocation(server)
        datas, peers = three_connections(c, p)
        if how == "close_control":
            c.close()
        else:
            assert c.refresh(lifetime=0).is_success
        for i, pc in enumerate(peers):
            assert pc.wait_closed(5), f"{how}: peer connection {i} stayed open"
        for i, d in enumerate(datas):
            assert d.wait_closed(5), f"{how}: data connection {i} stayed open"
            d.close()
        c.close()
    finally:
        p.close()


def test_expiry_closes_everything(fresh_server):
    """An allocation that is not refreshed expires with its connections (max lifetime 3 s)."""
    s = fresh_server(max_lifetime=3, default_lifetime=3)
    p = TcpPeer("sink", listeners=2)
    try:
        c = tcp_allocation(s)
        assert c.lifetime is not None and c.lifetime <= 3, c.lifetime
        datas, peers = three_connections(c, p)
        for i, pc in enumerate(peers):
            assert pc.wait_closed(10), f"expiry: peer connection {i} stayed open"
        for i, d in enumerate(datas):
            assert d.wait_closed(5), f"expiry: data connection {i} stayed open"
            d.close()
        c.close()
    finally:
        p.close()


@pytest.mark.slow
def test_unbound_connections_closed_after_30s(server):
    """A Connect's peer connection and an inbound connection that nobody binds are closed
    after 30 s; a ConnectionBind afterwards gets 400 (turnd) or a closed connection."""
    p = TcpPeer("sink")
    try:
        with tcp_allocation(server) as c:
            cid = connect_ok(c, p.address)
            out_pc = p.wait_connection(5)
            assert c.create_permission([("127.0.0.1", 0)]).is_success
            inbound = peer_connect(c.relayed[0]).watch()
            m = c.recv_connection_attempt(3)
            assert m is not None
            t0 = time.monotonic()
            assert not out_pc.wait_closed(CONNECT_TIMEOUT - 5), "closed long before 30 s"
            assert out_pc.wait_closed(15), "a pending Connect's peer connection lived past 30 s"
            assert inbound.wait_closed(10), "an unbound inbound connection lived past 30 s"
            took = time.monotonic() - t0
            assert took < CONNECT_TIMEOUT + 10, took
            for dead in (cid, m.connection_id):
                d = c.connection_bind(dead)
                assert not d.ok
                if TURND:
                    expect_error(d.response, 400, "bind after the timeout")
                d.close()
            # the allocation still works
            p2 = TcpPeer("echo")
            d, _ = relayed_pair(c, p2)
            d.sendall(b"ok")
            assert d.recv_exact(2, 5) == b"ok"
            d.close()
            p2.close()
    finally:
        p.close()


@pytest.mark.slow
def test_connect_timeout_447(server):
    """A peer that never answers the SYN: 447 after about 30 s."""
    p = TcpPeer("stall", accept=False, backlog=0)
    held = fill_backlog(p.address)
    try:
        with tcp_allocation(server, timeout=CONNECT_TIMEOUT + 15) as c:
            t = time.monotonic()
            expect_error(c.connect(p.address), 447)
            took = time.monotonic() - t
            assert CONNECT_TIMEOUT - 5 < took < CONNECT_TIMEOUT + 10, took
    finally:
        for s in held:
            s.close()
        p.close()


# --- quotas ------------------------------------------------------------------------------------

@pytest.mark.turnd_only("--max-tcp-connections-per-allocation is a turnd flag")
def test_connection_quota_508(fresh_server):
    s = fresh_server(extra_args=["--max-tcp-connections-per-allocation", "3"])
    p = TcpPeer("echo", listeners=5)
    try:
        with tcp_allocation(s) as c:
            datas = [bind_ok(c, connect_ok(c, a)) for a in p.addresses[:2]]
            connect_ok(c, p.addresses[2])                  # pending counts too
            expect_error(c.connect(p.addresses[3]), 508, "4th connection")
            # inbound connections count as well: refused while the allocation is full
            assert c.create_permission([("127.0.0.1", 0)]).is_success
            assert inbound_refused(c.relayed[0]), "an inbound connection over the quota was kept"
            assert c.recv_connection_attempt(QUIET) is None
            datas[0].close()
            time.sleep(0.3)
            connect_ok(c, p.addresses[3])                  # room again
            for d in datas[1:]:
                d.close()
    finally:
        p.close()


@pytest.mark.turnd_only("turnd's default of 64 connections per allocation")
def test_connect_storm_beyond_quota(server):
    """200 Connects pipelined on one control connection: 64 succeed (the default quota), the
    rest get 508; nothing else breaks and the server keeps answering."""
    n = 200
    p = TcpPeer("stall", listeners=n)
    try:
        with tcp_allocation(server) as c:
            reqs = []
            for a in p.addresses:
                tid = codec.random_tid()
                req, wire = c.build(codec.CONNECT, [Attr(AttrType.XOR_PEER_ADDRESS,
                                                         codec.encode_xor_address(a, tid))], tid=tid)
                reqs.append(req)
                c.send_raw(wire)
            codes = {}
            for req in reqs:
                fr = c._wait(20, c._response_matcher(req))
                assert fr is not None, f"no answer to Connect #{len(codes)}"
                m = codec.Message.decode(fr[1])
                code = 200 if m.is_success else m.error_code
                codes[code] = codes.get(code, 0) + 1
            assert codes == {200: 64, 508: n - 64}, codes
            assert c.refresh().is_success
    finally:
        p.close()
    server.assert_alive()


@pytest.mark.turnd_only("turnd's Connect rate per allocation and its /metrics")
def test_connect_rate_after_burst_508(fresh_server):
    """Connects to closed ports, one after the other: each fails at once (447) and frees its
    slot, so only the Connect rate stops a client from making the server port-scan. The burst
    is the connection cap (5 here), then 10 a second: the rest get 508 and are counted as
    connect_rate_limited; after a second's wait Connects go out again."""
    s = fresh_server(extra_args=["--max-tcp-connections-per-allocation", "5"])
    closed = []
    for _ in range(30):  # bound, never listening: a connect to it is reset at once
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        closed.append(sock)
    try:
        m0 = metrics(s)
        with tcp_allocation(s) as c:
            codes = []
            t0 = time.monotonic()
            for sock in closed:
                r = c.connect(sock.getsockname())
                assert r is not None and r.is_error, describe(r)
                codes.append(r.error_code)
            elapsed = time.monotonic() - t0
            sent = codes.count(447)
            assert set(codes) <= {447, 508}, codes
            # 5 at once, then 10 a second (one more for a refill landing at the edge)
            assert 5 <= sent <= 5 + 10 * elapsed + 1, (codes, elapsed)
            assert codes[:5] == [447] * 5, codes
            assert codes.count(508) >= 1, (codes, elapsed)
            d = metric_deltas(s, m0, [CONN % "connect_failed", CONN % "connect_rate_limited"])
            assert d == {CONN % "connect_failed": sent, CONN % "connect_rate_limited": codes.count(508)}, d
            time.sleep(1.2)  # about 10 tokens back
            for sock in closed[:5]:
                expect_error(c.connect(sock.getsockname()), 447, "a Connect after the refill")
            assert c.refresh().is_success
    finally:
        for sock in closed:
            sock.close()
    s.assert_alive()


# --- hostile clients ---------------------------------------------------------------------------

def test_connection_bind_flood_random_ids(server, peer):
    """300 new connections, each a ConnectionBind with a random CONNECTION-ID: each refused
    (400, or closed), none binds; a real bind works afterwards."""
    with tcp_allocation(server) as c:
        cid = connect_ok(c, peer.address)
        refused = 0
        for _ in range(300):
            rnd = struct.unpack("!I", os.urandom(4))[0]
            if rnd == cid:
                continue
            d = c.connection_bind(rnd)
            assert not d.ok, f"random id {rnd} bound"
            if TURND:
                expect_error(d.response, 400, "random id")
            refused += 1
            d.close()
        assert refused >= 299
        d = bind_ok(c, cid)
        d.sendall(b"after the flood")
        assert d.recv_exact(15, 5) == b"after the flood"
        d.close()
    server.assert_alive()


def test_garbage_after_connection_bind(server):
    """Bytes sent in the same write as the ConnectionBind request (before its answer, which
    RFC 6062 §4.3 has the client wait for) are never parsed as STUN. turnd relays them as the
    first data bytes, exactly; coturn 4.6.1 drops them. Either way the connection then
    carries data both ways."""
    p = TcpPeer("sink")
    try:
        with tcp_allocation(server) as c:
            cid = connect_ok(c, p.address)
            pc = p.wait_connection(5)
            data = TurnClient(c.server_address, "tcp", username=c.username, password=c.password)
            data.realm, data.nonce, data.server_algorithms = c.realm, c.nonce, c.server_algorithms
            req, wire = data.build(codec.CONNECTION_BIND,
                                   [Attr(AttrType.CONNECTION_ID, codec.encode_connection_id(cid))])
            # starts like a STUN Binding request with a bad length, then random bytes
            garbage = b"\x00\x01\x00\x08" + codec.MAGIC_BYTES + os.urandom(3000) + b"\xff" * 100
            data.send_raw(wire + garbage)
            r = data.transact_raw(req, b"", timeout=5)  # the request went out above
            assert r is not None and r.is_success, describe(r)
            if TURND:
                assert wait_for(lambda: pc.count >= len(garbage), 5), f"peer got {pc.count}"
                assert pc.digest == sha(garbage), "the bytes behind the ConnectionBind differ"
            more = os.urandom(5000)
            data.send_raw(more)
            want = (garbage if TURND else b"") + more
            assert wait_for(lambda: pc.count >= len(want), 5), f"peer got {pc.count}"
            assert pc.count == len(want) and pc.digest == sha(want)
            pc.sendall(b"back")
            assert data.transport.sock.recv(4) == b"back"
            data.close()
    finally:
        p.close()


@coturn_differs("coturn 4.6.1 keeps a connection that starts with non-STUN bytes open")
def test_garbage_instead_of_connection_bind(server, peer):
    """A new connection whose first bytes are not STUN is closed; the pending connection it
    could have bound is untouched."""
    with tcp_allocation(server) as c:
        cid = connect_ok(c, peer.address)
        s = socket.create_connection(server.address, timeout=2)
        s.sendall(b"\xff\xfe GET / HTTP/1.0\r\n\r\n" + os.urandom(200))
        assert closed_at_once(s, 12), "garbage on a new connection was not closed"
        s.close()
        bind_ok(c, cid).close()


@pytest.mark.parametrize("direction", ["client_never_reads", "peer_never_reads"])
def test_stalled_reader_memory_bounded(server, direction):
    """One side pushes as fast as it can for a few seconds, the other never reads: the server
    stops reading from the pusher (TCP flow control) instead of buffering; its RSS grows by
    well under the bytes pushed."""
    limit_s, budget_kib = 4.0, 32 * 1024
    p = TcpPeer("source" if direction == "client_never_reads" else "stall",
                source_limit=1 << 30, lifetime=60)
    try:
        with tcp_allocation(server) as c:
            d, pc = relayed_pair(c, p)
            rss0 = vm_rss_kib(server.proc.pid)
            pushed = 0
            deadline = time.monotonic() + limit_s
            if direction == "client_never_reads":
                while time.monotonic() < deadline:
                    time.sleep(0.2)
                pushed = pc.sent
            else:
                d.sock.setblocking(False)
                chunk = b"\x5a" * 65536
                while time.monotonic() < deadline:
                    try:
                        pushed += d.sock.send(chunk)
                    except BlockingIOError:
                        time.sleep(0.01)
                d.sock.setblocking(True)
            rss1 = vm_rss_kib(server.proc.pid)
            print(f"[figures] {direction}: pushed {pushed >> 10} KiB in {limit_s} s, "
                  f"server RSS {rss0} -> {rss1} KiB")
            assert rss1 - rss0 < budget_kib, (rss0, rss1, pushed)
            assert pushed < 64 * MB, f"{pushed} bytes accepted: nothing pushes back"
            # still relaying other traffic
            p2 = TcpPeer("echo")
            with tcp_allocation(server) as c2:
                d2, _ = relayed_pair(c2, p2)
                d2.sendall(b"alive")
                assert d2.recv_exact(5, 5) == b"alive"
                d2.close()
            p2.close()
            d.abort()
    finally:
        p.close()
    server.assert_alive()


# --- metrics -----------------------------------------------------------------------------------

CONN = "turnd_tcp_relay_connections_total{event=\"%s\"}"
BYTES = "turnd_tcp_relay_bytes_total{direction=\"%s\"}"
OPEN = "turnd_tcp_relay_connections"


def metric_deltas(server, m0, keys):
    m = metrics(server)
    return {k: m.get(k, 0.0) - m0.get(k, 0.0) for k in keys}


@pytest.mark.turnd_only("turnd's /metrics")
def test_metrics(server):
    """Every counter of turnd_tcp_relay_* moves by exactly what a known sequence does: an
    outbound and an inbound connection bound and carrying bytes both ways, a refused Connect, an
    inbound connection without permission, a ConnectionBind with an unknown id; the gauge counts
    open peer connections and goes back when they close."""
    m0 = metrics(server)
    missing = [k for k in (CONN % "connected", BYTES % "to_peer", OPEN) if k not in m0]
    assert not missing, f"/metrics lacks {missing}; has " + ", ".join(
        sorted(k for k in m0 if k.startswith("turnd_tcp_relay")))
    size = 100_000
    p = TcpPeer("exchange", payload=os.urandom(size), expect=size)
    try:
        with tcp_allocation(server) as c:
            d, pc = relayed_pair(c, p)                                    # connected, bound
            assert d.exchange(os.urandom(size), size) == p.payload
            assert pc.done.wait(5)
            assert c.create_permission([("127.0.0.1", 0)]).is_success
            inbound = peer_connect(c.relayed[0])                          # accepted
            m = c.recv_connection_attempt(3)
            d_in = bind_ok(c, m.connection_id)                            # bound
            inbound.sendall(b"i" * 1000)
            assert d_in.recv_exact(1000, 5) == b"i" * 1000
            d_in.sendall(b"o" * 2000)
            inbound.sock.settimeout(5)
            got = b""
            while len(got) < 2000:
                got += inbound.sock.recv(4096)
            assert wait_for(lambda: metric_deltas(server, m0, [OPEN])[OPEN] == 2), \
                metric_deltas(server, m0, [OPEN])
            dead = socket.socket()
            dead.bind(("127.0.0.1", 0))
            dead_port = dead.getsockname()[1]
            dead.close()
            expect_error(c.connect(("127.0.0.1", dead_port)), 447)        # connect_failed
            u, pw = creds()
            with TurnClient(server.address, "tcp", username=u, password=pw) as other:
                assert other.allocate(PROTO_TCP).is_success
                assert inbound_refused(other.relayed[0])                 # refused_no_permission
            # bind_failed, twice: an unknown id of this shard (turnd's ids carry the shard in
            # their top byte) and one whose top byte names no shard at all
            for bad_id in (m.connection_id ^ 0x00F0F0F0, 0xFE000000 | (m.connection_id & 0xFFFFFF)):
                bad = c.connection_bind(bad_id)
                expect_error(bad.response, 400, f"ConnectionBind {bad_id:#x}")
                bad.close()
            want = {CONN % "connected": 1, CONN % "accepted": 1, CONN % "bound": 2,
                    CONN % "connect_failed": 1, CONN % "refused_no_permission": 1,
                    CONN % "bind_failed": 2, CONN % "refused_quota": 0,
                    CONN % "bind_timeout": 0, CONN % "connect_rate_limited": 0,
                    BYTES % "to_peer": size + 2000,
                    BYTES % "from_peer": size + 1000, OPEN: 2}
            if not wait_for(lambda: metric_deltas(server, m0, want) == want):
                got = metric_deltas(server, m0, want)
                pytest.fail("metrics moved by " + ", ".join(
                    f"{k}: {got[k]:g} (want {v:g})" for k, v in want.items() if got[k] != v))
            d.close()
            d_in.close()
            assert wait_for(lambda: metric_deltas(server, m0, [OPEN])[OPEN] == 0), \
                "the gauge did not go back after the connections closed"
    finally:
        p.close()
