"""STUN server behaviour (RFC 8489, RFC 3489 compatibility) over UDP and TCP, IPv4 and IPv6.

Each test runs against a server started with --threads N for every N in TURND_THREADS
(default 1 and 2). Malformed input must be dropped or answered with 400, never crash the
server or stop it from answering others.
"""

import random
import re
import shutil
import socket
import struct
import subprocess
import time

import pytest

import _paths  # noqa: F401
import procs
from conftest import start_server, stop_server
from turnclient import codec
from turnclient.codec import Attr, AttrType, Message
from turnclient.client import StunClient
from turnclient.transport import ConnectionClosed, TcpTransport

FAMILIES = ["v4", "v6"]
TRANSPORTS = ["udp", "tcp"]
QUIET_AFTER = 0.2  # how long a late answer to a malformed datagram is waited for


@pytest.fixture(scope="module")
def server(threads):
    s = start_server(procs.ServerConfig(threads=threads, users=[("alice", "alicepw")]))
    yield s
    stop_server(s)


def client(server, family="v4", transport="udp", **kw) -> StunClient:
    return StunClient(server.address_for(family), transport, **kw)


def assert_binding_ok(c: StunClient, resp, fingerprint=True):
    assert resp is not None, "no Binding response"
    assert resp.is_success, f"expected success, got {resp}"
    assert resp.xor_mapped_address == c.local_address, \
        f"XOR-MAPPED-ADDRESS {resp.xor_mapped_address} != client socket {c.local_address}"


def check_still_serving(server, family="v4"):
    for t in TRANSPORTS:
        with client(server, family, t) as c:
            assert_binding_ok(c, c.binding(timeout=2.0))


# --- Binding ---------------------------------------------------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("family", FAMILIES)
def test_binding(server, family, transport):
    with client(server, family, transport) as c:
        resp = c.binding(fingerprint=True)
        assert_binding_ok(c, resp)
        assert resp.software, "SOFTWARE attribute missing"
        assert resp.check_fingerprint() is True, "FINGERPRINT missing or invalid"
        assert resp.tid == Message.decode(resp.raw).tid
        # a second transaction on the same 5-tuple gives the same mapping
        resp2 = c.binding(fingerprint=True)
        assert_binding_ok(c, resp2)
        assert resp2.tid != resp.tid


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("family", FAMILIES)
def test_binding_without_fingerprint_gets_none(server, family, transport):
    with client(server, family, transport) as c:
        resp = c.binding(fingerprint=False)
        assert_binding_ok(c, resp)
        assert resp.check_fingerprint() is None, "FINGERPRINT in a response to a request without one"


def test_binding_many_clients_each_get_their_own_address(server):
    """20 sockets at once (spread over the shards with --threads 2): each response goes to the
    socket that asked and carries that socket's address."""
    clients = [client(server, "v4" if i % 2 else "v6") for i in range(20)]
    try:
        reqs = []
        for c in clients:
            req = c.binding_request()
            c.send_raw(req.encode(fingerprint=True))
            reqs.append(req)
        for c, req in zip(clients, reqs):
            resp = c.transact(req, timeout=2.0, fingerprint=True)  # retransmits if needed
            assert_binding_ok(c, resp)
            assert resp.tid == req.tid
    finally:
        for c in clients:
            c.close()


@pytest.mark.parametrize("family", FAMILIES)
def test_rfc3489_binding(server, family):
    """RFC 8489 §12: a request without the magic cookie is from an RFC 3489 client; the answer
    carries MAPPED-ADDRESS and echoes the whole 128-bit transaction id. (RFC 3489 is UDP only.)"""
    with client(server, family, "udp") as c:
        req, resp = c.binding_rfc3489(timeout=2.0)
        assert resp is not None, "RFC 3489 Binding request not answered"
        assert resp.is_success, str(resp)
        assert resp.tid16 == req.tid16, "128-bit transaction id not echoed"
        assert resp.mapped_address == c.local_address


# --- unknown attributes ----------------------------------------------------------------------

@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unknown_comprehension_required_attribute(server, transport):
    with client(server, "v4", transport) as c:
        resp = c.binding(attrs=[Attr(0x0031, b"abcd")])
        assert resp is not None and resp.is_error, f"expected 420, got {resp}"
        assert resp.error_code == 420
        assert resp.unknown_attributes == [0x0031]


def test_two_unknown_comprehension_required_attributes(server):
    with client(server) as c:
        resp = c.binding(attrs=[Attr(0x0031, b"abcd"), Attr(0x8031, b"x"), Attr(0x7FF0, b"")])
        assert resp is not None and resp.error_code == 420, str(resp)
        assert sorted(resp.unknown_attributes) == [0x0031, 0x7FF0]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_unknown_comprehension_optional_attribute_ignored(server, transport):
    with client(server, "v4", transport) as c:
        resp = c.binding(attrs=[Attr(0x8031, b"optional"), Attr(0xFFFE, b"")])
        assert_binding_ok(c, resp)


# --- malformed datagrams ---------------------------------------------------------------------

def _hdr(msg_type=0x0001, length=0, cookie=codec.MAGIC_COOKIE, tid=b"\x11" * 12) -> bytes:
    return struct.pack("!HHI", msg_type, length, cookie) + tid


def _good_binding(fingerprint=True) -> bytes:
    m = Message(codec.BINDING, tid=b"\x22" * 12)
    m.add(AttrType.SOFTWARE, b"malformed-tests")
    return m.encode(fingerprint=fingerprint)


def _bad_fingerprint() -> bytes:
    b = bytearray(_good_binding())
    b[-1] ^= 0xFF
    return bytes(b)


def _fingerprint_not_last() -> bytes:
    m = Message(codec.BINDING, tid=b"\x33" * 12)
    wire = m.encode(fingerprint=True)
    extra = Attr(AttrType.SOFTWARE, b"late").encode()
    return _hdr(length=len(wire) - 20 + len(extra), tid=b"\x33" * 12) + wire[20:] + extra


def _rng_bytes(seed, n, first=None):
    r = random.Random(seed)
    b = bytearray(r.getrandbits(8) for _ in range(n))
    if first is not None:
        b[0] = first
    return bytes(b)


def _many_attributes(n=1000) -> bytes:
    m = Message(codec.BINDING, tid=b"\x44" * 12)
    for _ in range(n):
        m.add(0x8031, b"")
    return m.encode()


def _response_class(cls) -> bytes:
    m = Message(codec.BINDING, cls, tid=b"\x55" * 12)
    m.add_xor_address(AttrType.XOR_MAPPED_ADDRESS, ("127.0.0.1", 1))
    return m.encode(fingerprint=True)


COTURN_LENIENT = pytest.mark.rfc_only("coturn 4.6.1 answers this malformed Binding with success")


def case(name, datagram, policy, *marks):
    return pytest.param(datagram, policy, id=name, marks=list(marks))


# policy: "drop" = must not answer; "drop_or_400"; "ok_or_400"; "ok_or_drop_or_400"
MALFORMED = [
    case("empty", b"", "drop"),
    case("one-byte", b"\x00", "drop"),
    case("truncated-header", _good_binding()[:19], "drop"),
    case("header-length-odd", _hdr(length=2) + b"\0\0", "drop_or_400"),
    case("length-not-multiple-of-4", _hdr(length=5) + b"\x80\x22\x00\x01a", "drop_or_400"),
    case("length-past-datagram", _hdr(length=64) + b"\x80\x22\x00\x04abcd", "drop_or_400"),
    case("length-short-of-datagram", _hdr(length=8) + b"\x80\x22\x00\x04abcd" + b"\x80\x22\x00\x04efgh",
         "drop_or_400"),
    case("attribute-past-end", _hdr(length=8) + b"\x80\x22\x00\x64abcd", "drop_or_400", COTURN_LENIENT),
    case("attribute-header-truncated", _hdr(length=4) + b"\x80\x22\x00\x08", "drop_or_400", COTURN_LENIENT),
    case("bad-fingerprint", _bad_fingerprint(), "drop_or_400"),
    case("fingerprint-not-last", _fingerprint_not_last(), "drop_or_400"),
    case("stun-like-garbage", _hdr(length=96) + _rng_bytes(1, 96), "drop_or_400", COTURN_LENIENT),
    case("garbage", _rng_bytes(2, 300, first=0xC3), "drop"),
    case("garbage-zero-first-byte", _rng_bytes(3, 77, first=0x00), "drop_or_400"),
    case("jumbo-garbage", _rng_bytes(4, 9000, first=0x00), "drop_or_400"),
    case("channeldata-without-allocation", codec.encode_channel_data(0x4000, b"abcd"), "drop"),
    case("channeldata-length-lies", codec.encode_channel_data(0x4001, b"ab", declared_length=0xFFFF), "drop"),
    case("binding-success-response", _response_class(codec.SUCCESS), "drop"),
    case("binding-error-response", _response_class(codec.ERROR), "drop"),
    case("binding-indication", Message(codec.BINDING, codec.INDICATION).encode(), "drop"),
    case("unknown-method-request", Message(0x0FF, codec.REQUEST).encode(fingerprint=True), "drop_or_400",
         pytest.mark.rfc_only("coturn 4.6.1 answers an unknown method with 401")),
    # more attributes than a server indexes (turnd: 32): answered, 400, or dropped
    case("many-attributes", _many_attributes(), "ok_or_drop_or_400"),
    case("zero-cookie-garbage-length", _hdr(length=0xFFFC, cookie=0) + b"\0" * 40, "drop_or_400"),
]
MALFORMED_BYTES = [p.values[0] for p in MALFORMED]


def _check_policy(policy: str, frames, case: str):
    if not frames:
        assert policy != "ok_or_400", f"{case}: no answer (expected success or 400)"
        return
    assert len(frames) == 1, f"{case}: {len(frames)} answers"
    fr = frames[0]
    assert policy != "drop", f"{case}: server answered {fr[0]} {fr[1][:40].hex()} (must drop)"
    assert fr[0] == "stun", f"{case}: answered with a non-STUN frame {fr[1][:40].hex()}"
    resp = Message.decode(fr[1])
    if policy in ("ok_or_400", "ok_or_drop_or_400") and resp.is_success:
        return
    assert resp.is_error and resp.error_code == 400, f"{case}: answered {resp}, expected 400 or silence"


@pytest.mark.parametrize("datagram,policy", MALFORMED)
def test_malformed_udp(server, request, datagram, policy):
    """Send the malformed datagram, then a good Binding from the same socket. Whatever arrives
    before the good response (or within QUIET_AFTER after it) answers the malformed one."""
    case_id = request.node.callspec.id
    with client(server) as c:
        c.send_raw(datagram)
        good = c.binding_request()
        c.send_raw(good.encode(fingerprint=True))
        frames, resp = [], None
        deadline = time.monotonic() + 3.0
        while resp is None and time.monotonic() < deadline:
            fr = c.transport.recv_frame(deadline - time.monotonic())
            if fr is None:
                break
            if fr[0] == "stun" and fr[1][8:20] == good.tid:
                resp = Message.decode(fr[1])
            else:
                frames.append(fr)
        assert resp is not None, f"{case_id}: the good Binding after it was not answered"
        assert_binding_ok(c, resp)
        late = c.transport.recv_frame(QUIET_AFTER)
        if late is not None:
            frames.append(late)
        _check_policy(policy, frames, case_id)
    server.assert_alive()


def test_malformed_udp_burst_then_still_serving(server):
    """All malformed datagrams from many sockets in a burst, then both families and transports
    still answer."""
    socks = [client(server, "v4" if i % 2 else "v6") for i in range(8)]
    try:
        for i in range(3):
            for s in socks:
                for d in MALFORMED_BYTES:
                    s.send_raw(d)
    finally:
        for s in socks:
            s.close()
    for fam in FAMILIES:
        check_still_serving(server, fam)
    server.assert_alive()


# --- TCP framing and abuse -------------------------------------------------------------------

def test_tcp_pipelined_requests(server):
    """Three requests in one write: three responses in order."""
    with client(server, "v4", "tcp") as c:
        reqs = [c.binding_request() for _ in range(3)]
        c.send_raw(b"".join(r.encode(fingerprint=True) for r in reqs))
        for r in reqs:
            fr = c.transport.recv_frame(2.0)
            assert fr is not None and fr[0] == "stun"
            resp = Message.decode(fr[1])
            assert resp.tid == r.tid and resp.is_success


def test_tcp_request_split_byte_by_byte(server):
    with client(server, "v6", "tcp") as c:
        req = c.binding_request()
        wire = req.encode(fingerprint=True)
        for i in range(len(wire)):
            c.send_raw(wire[i:i + 1])
            time.sleep(0.002)
        fr = c.transport.recv_frame(2.0)
        assert fr is not None, "no answer to a request written byte by byte"
        resp = Message.decode(fr[1])
        assert resp.tid == req.tid and resp.is_success


COTURN_KEEPS_GARBAGE_OPEN = pytest.mark.turnd_only("coturn 4.6.1 keeps a garbage TCP stream open")


@pytest.mark.parametrize("garbage", [
    pytest.param(b"\xff" * 64, marks=COTURN_KEEPS_GARBAGE_OPEN),
    pytest.param(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
    pytest.param(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\0" * 40,   # a TLS ClientHello start
                 marks=COTURN_KEEPS_GARBAGE_OPEN),
], ids=["ff", "http", "tls"])
def test_tcp_garbage_stream_closed(server, garbage):
    """A stream that is not STUN/ChannelData gets the connection closed within 5 s, never a hang.
    "GET " parses as a ChannelData header (0x47) and a TLS record as a STUN header (0x16), each
    announcing a long frame, so 70000 bytes of 0xFF follow: whatever the server's framing makes of
    the start, it then meets a byte that starts no STUN or ChannelData frame. The server may
    answer 400 before closing."""
    with client(server, "v4", "tcp") as c:
        t = c.transport
        try:
            c.send_raw(garbage)
            time.sleep(0.05)
            c.send_raw(b"\xff" * 70000)
            closed = t.wait_closed(5.0)
        except (BrokenPipeError, ConnectionResetError, ConnectionClosed):
            closed = True
        assert closed, "server kept a garbage TCP stream open for 5 s"
    check_still_serving(server)


def test_tcp_huge_length(server):
    """A STUN header announcing 65532 bytes, then silence: the server may wait for the rest, but
    must keep serving everyone else; after the full (garbage) body it drops or answers 400
    (or closes)."""
    with client(server, "v4", "tcp") as c:
        c.send_raw(_hdr(length=0xFFFC))
        check_still_serving(server)
        body = _rng_bytes(5, 0xFFFC)
        try:
            c.send_raw(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while we wrote: fine
        try:
            fr = c.transport.recv_frame(2.0)
        except ConnectionClosed:
            fr = None
        if fr is not None:
            assert fr[0] == "stun"
            resp = Message.decode(fr[1])
            assert resp.is_error and resp.error_code == 400, str(resp)
    check_still_serving(server)


def test_tcp_channeldata_huge_length_without_allocation(server):
    with client(server, "v4", "tcp") as c:
        c.send_raw(struct.pack("!HH", 0x4000, 0xFFFF) + b"x" * 100)
        check_still_serving(server)


def test_tcp_slowloris_does_not_block_others(server):
    """Half a request on one connection for a while: others are served meanwhile, and the
    first connection gets its answer once the rest arrives (stream reassembly)."""
    slow = [client(server, fam, "tcp") for fam in ("v4", "v6", "v4")]
    try:
        reqs = [s.binding_request() for s in slow]
        wires = [r.encode(fingerprint=True) for r in reqs]
        for s, w in zip(slow, wires):
            s.send_raw(w[:10])
        t0 = time.monotonic()
        for fam in FAMILIES:
            for tr in TRANSPORTS:
                with client(server, fam, tr) as c:
                    assert_binding_ok(c, c.binding(timeout=1.0))
        assert time.monotonic() - t0 < 3.0
        time.sleep(0.3)
        for s, w, r in zip(slow, wires, reqs):
            s.send_raw(w[10:])
            fr = s.transport.recv_frame(2.0)
            assert fr is not None, "no answer after completing the slow request"
            resp = Message.decode(fr[1])
            assert resp.tid == r.tid and resp.is_success
    finally:
        for s in slow:
            s.close()


def test_tcp_many_idle_connections(server):
    """20 idle connections do not stop the server from answering."""
    conns = []
    try:
        for i in range(20):
            conns.append(TcpTransport(server.address_for("v4")))
        check_still_serving(server)
    finally:
        for t in conns:
            t.close()
    check_still_serving(server)


# --- coturn's turnutils_stunclient -----------------------------------------------------------
# turnutils_stunclient (coturn 4.6.1) has only UDP: its options are -p PORT, -L LOCAL-ADDRESS and
# -f (force RFC 5780); it has no TCP mode. TCP Binding is covered by test_binding with our client.

STUNCLIENT = shutil.which("turnutils_stunclient")


@pytest.mark.skipif(STUNCLIENT is None, reason="turnutils_stunclient (Debian package coturn) not installed")
@pytest.mark.parametrize("family,ip", [("v4", "127.0.0.1"), ("v6", "::1")])
def test_turnutils_stunclient(server, family, ip):
    port = server.address_for(family)[1]
    out = subprocess.run([STUNCLIENT, "-p", str(port), ip], capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    m = re.search(r"UDP reflexive addr:\s*(\S+)", text)
    assert m, f"no mapped address in turnutils_stunclient output (exit {out.returncode}):\n{text}"
    host, _, port_s = m.group(1).rpartition(":")
    assert host.strip("[]") == ip, f"mapped address {m.group(1)} is not {ip}"
    assert 1 <= int(port_s) <= 65535
    assert out.returncode == 0, text
