"""TURN (RFC 8656) and long-term credential (RFC 8489 §9.2) tests.

Written to the RFCs. Tests marked rfc_only are ones coturn 4.6.1 does not satisfy (or cannot be
configured for); turnd_only tests use turnd flags coturn lacks. All traffic stays on 127.0.0.0/8
and ::1: peers are UDP sockets of this process (127.0.0.2 and 127.0.0.3 serve as "other"
peer IPs, since permissions compare IP addresses only).
"""

import contextlib
import hashlib
import os
import random
import socket
import time

import pytest

import _paths  # noqa: F401
import procs
from conftest import SERVER_KIND, start_server, stop_server
from turnclient import codec
from turnclient.codec import (Attr, AttrType, FAMILY_V4, FAMILY_V6, Message,
                              ALG_MD5, ALG_SHA256)
from turnclient.client import TurnClient, rest_credentials

pytestmark = pytest.mark.turn

REALM = "turnd.test"
ALICE = ("alice", "alicepw")
BOB = ("bob", "bobpw")
SECRET = "s3cret"
OLD_SECRET = "older-s3cret"
QUIET = 0.5          # how long "nothing arrives" is waited for
DEFAULT_LIFETIME = 600


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def turn_server(threads):
    """Long-term users, IPv4 relay only, loopback peers allowed."""
    s = start_server(procs.ServerConfig(threads=threads, realm=REALM, users=[ALICE, BOB],
                                        relay_ips=["127.0.0.1"]))
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def rest_server(threads):
    """TURN REST API credentials with two secrets (rotation)."""
    s = start_server(procs.ServerConfig(threads=threads, realm=REALM, secrets=[SECRET, OLD_SECRET],
                                        relay_ips=["127.0.0.1"]))
    yield s
    stop_server(s)


@pytest.fixture(scope="module")
def dual_server(threads):
    """IPv4 and IPv6 relay addresses (turnd: --relay-ip given twice)."""
    s = start_server(procs.ServerConfig(threads=threads, realm=REALM, users=[ALICE, BOB],
                                        relay_ips=["127.0.0.1", "::1"]))
    yield s
    stop_server(s)


# --- helpers ---------------------------------------------------------------------------------

class Peer:
    """A UDP peer socket on a loopback address."""

    def __init__(self, ip: str = "127.0.0.1"):
        fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((ip, 0))
        self.address = (codec.normalize_ip(ip), self.sock.getsockname()[1])

    def send_to(self, addr, data: bytes) -> None:
        self.sock.sendto(data, addr)

    def recv(self, timeout: float = 2.0):
        self.sock.settimeout(timeout)
        try:
            data, src = self.sock.recvfrom(65536)
        except (socket.timeout, ConnectionRefusedError):
            return None
        return data, (codec.normalize_ip(src[0]), src[1])

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def tc(server, family="v4", transport="udp", user=ALICE, **kw) -> TurnClient:
    return TurnClient(server.address_for(family), transport, username=user[0], password=user[1], **kw)


def ok(resp, what="request"):
    assert resp is not None, f"{what}: no response"
    assert resp.is_success, f"{what}: expected success, got {resp}"
    return resp


def err(resp, code, what="request"):
    assert resp is not None, f"{what}: no response (expected {code})"
    assert resp.is_error, f"{what}: expected error {code}, got {resp}"
    assert resp.error_code == code, f"{what}: expected {code}, got {resp}"
    return resp


@contextlib.contextmanager
def allocation(server, family="v4", transport="udp", user=ALICE, alloc=None, **kw):
    """A client with a successful allocation, deleted (Refresh 0) afterwards."""
    c = tc(server, family, transport, user, **kw)
    try:
        ok(c.allocate(**(alloc or {})), "Allocate")
        yield c
    finally:
        try:
            if c.relayed:
                c.timeout = 1.0
                c.refresh(lifetime=0)
        except Exception:
            pass
        c.close()


def in_window(server, addr) -> bool:
    lo, hi = server.relay_ports
    return lo <= addr[1] <= hi


def payload(i: int, size: int) -> bytes:
    """Deterministic payload carrying its own SHA-256 (first 8 bytes) for integrity checks."""
    body = random.Random(i * 7919 + size).randbytes(max(size - 8, 0))
    return (hashlib.sha256(body).digest()[:8] + body)[:size]


def expect_peer_gets(peer: Peer, data: bytes, relayed, timeout: float = 2.0):
    got = peer.recv(timeout)
    assert got is not None, f"peer {peer.address} received nothing (expected {len(data)} bytes)"
    assert got[0] == data, f"peer got {len(got[0])} bytes that differ from the {len(data)} sent"
    assert got[1] == relayed, f"datagram came from {got[1]}, not the relayed address {relayed}"


def expect_data_indication(c: TurnClient, data: bytes, peer_addr, timeout: float = 2.0):
    got = c.recv_data(timeout)
    assert got is not None, f"no Data indication (expected data from {peer_addr})"
    assert got[0] == peer_addr, f"XOR-PEER-ADDRESS {got[0]} != {peer_addr}"
    assert got[1] == data


def expect_channel_data(c: TurnClient, channel: int, data: bytes, timeout: float = 2.0):
    got = c.recv_channel_data(timeout)
    assert got is not None, "no ChannelData from the server"
    assert got == (channel, data), f"got channel 0x{got[0]:04X} {len(got[1])} bytes"


def nothing_arrives(c: TurnClient, timeout: float = QUIET) -> bool:
    frames = [f for f in c.drain(timeout) if f[0] == "channel" or
              (f[0] == "stun" and Message.decode(f[1]).method == codec.DATA
               and Message.decode(f[1]).data is not None)]
    return not frames


def first_challenge(c: TurnClient, method=codec.ALLOCATE, attrs=None):
    """Send an unauthenticated request and return the 401 (learned by the client)."""
    attrs = attrs if attrs is not None else [Attr(AttrType.REQUESTED_TRANSPORT,
                                                  codec.encode_requested_transport())]
    r = c.request(method, attrs, authenticate=False)
    err(r, 401, "unauthenticated request")
    c._learn(r)
    c.challenges.append(r)
    return r


# --- long-term credentials (RFC 8489 §9.2) ----------------------------------------------------

@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("mode", ["legacy", "md5"])
def test_challenge_then_success_md5(turn_server, transport, mode):
    """401 with REALM and NONCE, then success with the MD5 key; the response's integrity
    verifies with the same key. legacy = no PASSWORD-ALGORITHM(S), as browsers send it."""
    with tc(turn_server, "v4", transport, password_algorithm=mode) as c:
        r = ok(c.allocate(), "Allocate")
        ch = c.challenges[0]
        assert ch.error_code == 401
        assert ch.realm == REALM
        assert ch.nonce, "401 without NONCE"
        assert not ch.has(AttrType.MESSAGE_INTEGRITY), "401 to an unauthenticated request carries MI"
        assert c.verify_response(r) is True, "response MESSAGE-INTEGRITY missing or wrong"
        ok(c.refresh(lifetime=0), "Refresh 0")


@pytest.mark.rfc_only("coturn 4.6.1 offers no PASSWORD-ALGORITHMS / SHA-256")
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_challenge_then_success_sha256(turn_server, transport):
    with tc(turn_server, "v4", transport, password_algorithm="sha256") as c:
        ch = first_challenge(c)
        feats = codec.security_features(ch.nonce)
        assert feats is not None, f"nonce {ch.nonce!r} does not start with the nonce cookie"
        assert feats & codec.FEATURE_PASSWORD_ALGORITHMS, "password-algorithms feature bit not set"
        algs = [a for a, _ in (ch.password_algorithms or [])]
        assert ALG_MD5 in algs and ALG_SHA256 in algs, f"PASSWORD-ALGORITHMS {algs}"
        r = ok(c.allocate(), "Allocate with SHA-256")
        assert r.has(AttrType.MESSAGE_INTEGRITY_SHA256), "no MESSAGE-INTEGRITY-SHA256 in the response"
        assert c.verify_response(r) is True
        # the MD5 key must not verify a SHA-256-keyed exchange
        assert r.check_integrity_sha256(codec.long_term_key("alice", REALM, "alicepw", ALG_MD5)) is False
        ok(c.refresh(lifetime=0))


@pytest.mark.rfc_only("coturn 4.6.1 offers no PASSWORD-ALGORITHMS")
def test_tampered_password_algorithms_400(turn_server):
    """RFC 8489 §9.2.4: PASSWORD-ALGORITHMS in the request must equal the server's list -> 400."""
    with tc(turn_server, password_algorithm="md5") as c:
        ch = first_challenge(c)
        assert ch.password_algorithms, "401 without PASSWORD-ALGORITHMS"
        tampered = codec.encode_password_algorithms([(ALG_MD5, b"")])
        if tampered == ch.get(AttrType.PASSWORD_ALGORITHMS):
            tampered = codec.encode_password_algorithms([(ALG_SHA256, b""), (ALG_MD5, b"")])
        c.server_algorithms = tampered
        err(c.allocate(), 400, "Allocate with a downgraded PASSWORD-ALGORITHMS list")


@pytest.mark.rfc_only("coturn 4.6.1 has no USERHASH")
def test_userhash(turn_server):
    with tc(turn_server, use_userhash=True) as c:
        ch = first_challenge(c)
        assert codec.security_features(ch.nonce) is not None, "nonce without the nonce cookie"
        r = ok(c.allocate(), "Allocate with USERHASH")
        assert c.verify_response(r) is True
        ok(c.refresh(lifetime=0))


def test_wrong_password_401(turn_server):
    with tc(turn_server, user=("alice", "not-the-password")) as c:
        r = err(c.allocate(), 401, "Allocate with a wrong password")
        assert r.realm == REALM and r.nonce
        assert len(c.challenges) == 2  # the first challenge, then the rejection


def test_unknown_user_401(turn_server):
    with tc(turn_server, user=("mallory", "x")) as c:
        err(c.allocate(), 401, "Allocate for an unknown user")


def test_corrupted_message_integrity_401(turn_server):
    with tc(turn_server, fingerprint=False) as c:
        first_challenge(c)
        req, wire = c.build(codec.ALLOCATE, [Attr(AttrType.REQUESTED_TRANSPORT,
                                                  codec.encode_requested_transport())])
        bad = bytearray(wire)
        bad[-1] ^= 0x01  # last byte of the MESSAGE-INTEGRITY value
        err(c.transact_raw(req, bytes(bad)), 401, "Allocate with a corrupted MESSAGE-INTEGRITY")


def test_integrity_without_nonce_400(turn_server):
    """RFC 8489 §9.2.4: MESSAGE-INTEGRITY present but NONCE missing -> 400."""
    with tc(turn_server, fingerprint=False) as c:
        first_challenge(c)
        m = Message(codec.ALLOCATE)
        m.add(AttrType.REQUESTED_TRANSPORT, codec.encode_requested_transport())
        m.add(AttrType.USERNAME, b"alice")
        m.add(AttrType.REALM, REALM.encode())
        err(c.transact_raw(m, m.encode(key=c.key(), integrity="sha1")), 400, "MI without NONCE")


def test_rest_credentials(rest_server):
    u, p = rest_credentials(SECRET, "carol", ttl=600)
    with tc(rest_server, user=(u, p)) as c:
        r = ok(c.allocate(), "Allocate with REST credentials")
        assert c.verify_response(r) is True
        ok(c.refresh(lifetime=0))


def test_rest_credentials_second_secret(rest_server):
    u, p = rest_credentials(OLD_SECRET, "dave", ttl=600)
    with tc(rest_server, user=(u, p)) as c:
        ok(c.allocate(), "Allocate with a credential of the second secret")
        ok(c.refresh(lifetime=0))


def test_rest_credentials_expired_401(rest_server):
    # two hours ago: beyond any clock-skew tolerance (turnd allows at most 3600 s)
    u, p = rest_credentials(SECRET, "carol", ttl=-7200)
    with tc(rest_server, user=(u, p)) as c:
        err(c.allocate(), 401, "Allocate with an expired REST username")


def test_rest_credentials_wrong_secret_401(rest_server):
    u, p = rest_credentials("not-the-secret", "carol", ttl=600)
    with tc(rest_server, user=(u, p)) as c:
        err(c.allocate(), 401, "Allocate with a REST password of another secret")


def test_stale_nonce_438(server_factory, threads):
    """Nonce lifetime 2 s (turnd: auth.nonce_lifetime in a config file; coturn: --stale-nonce)."""
    s = server_factory(procs.ServerConfig(threads=threads, users=[ALICE], nonce_lifetime=2))
    with tc(s) as c:
        ok(c.allocate(), "Allocate")
        old_nonce = c.nonce
        time.sleep(3.5)
        r = ok(c.refresh(), "Refresh after the nonce expired (client retries on 438)")
        stale = [ch for ch in c.challenges if ch.error_code == 438]
        assert stale, "no 438 after the nonce lifetime"
        assert stale[-1].nonce and stale[-1].nonce != old_nonce
        assert c.verify_response(r) is True


# --- Allocate ---------------------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_allocate(turn_server, transport):
    with allocation(turn_server, "v4", transport) as c:
        r = c.last_response
        assert len(c.relayed) == 1
        relayed = c.relayed[0]
        assert relayed[0] == "127.0.0.1"
        assert in_window(turn_server, relayed), f"relay port {relayed[1]} outside {turn_server.relay_ports}"
        assert r.lifetime == DEFAULT_LIFETIME, f"LIFETIME {r.lifetime}"
        assert r.xor_mapped_address == c.local_address


def test_allocate_lifetime_hints(turn_server):
    """A LIFETIME below the default gets the default; above it, at most what was asked."""
    with allocation(turn_server, alloc={"lifetime": 30}) as c:
        assert c.lifetime == DEFAULT_LIFETIME
        r = ok(c.refresh(lifetime=1200), "Refresh 1200")
        assert DEFAULT_LIFETIME <= r.lifetime <= 1200
        r = ok(c.refresh(lifetime=5), "Refresh 5")
        assert r.lifetime == DEFAULT_LIFETIME


def test_allocations_get_distinct_relay_ports(turn_server):
    clients = []
    try:
        for i in range(10):
            c = tc(turn_server, "v4" if i % 2 else "v6", "udp" if i % 3 else "tcp")
            clients.append(c)
            ok(c.allocate(), f"Allocate #{i}")
        ports = [c.relayed[0][1] for c in clients]
        assert len(set(ports)) == len(ports), f"relay ports reused: {ports}"
        assert all(in_window(turn_server, c.relayed[0]) for c in clients)
    finally:
        for c in clients:
            if c.relayed:
                c.refresh(lifetime=0)
            c.close()


@pytest.mark.rfc_only("coturn 4.6.1 answers 400")
@pytest.mark.parametrize("proto", [99], ids=["proto99"])
def test_unsupported_transport_442(turn_server, proto):
    """RFC 8656 §7.2 step 3. (TCP, 6, is RFC 6062's: over UDP 400, test_tcp_relay.py.)"""
    with tc(turn_server) as c:
        err(c.allocate(transport=proto), 442, f"REQUESTED-TRANSPORT {proto}")


def test_missing_requested_transport_400(turn_server):
    with tc(turn_server) as c:
        err(c.allocate(requested_transport=False), 400, "Allocate without REQUESTED-TRANSPORT")


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_second_allocate_437(turn_server, transport):
    with allocation(turn_server, "v4", transport) as c:
        err(c.allocate(), 437, "second Allocate on the same 5-tuple")


def test_retransmitted_allocate_same_response(turn_server):
    """A retransmission (same transaction id) is answered like the original, not with 437."""
    with tc(turn_server) as c:
        first_challenge(c)
        req, wire = c.build(codec.ALLOCATE, [Attr(AttrType.REQUESTED_TRANSPORT,
                                                  codec.encode_requested_transport())])
        r1 = ok(c.transact_raw(req, wire, retransmit=False), "Allocate")
        r2 = ok(c.transact_raw(req, wire, retransmit=False), "retransmitted Allocate")
        assert r2.tid == r1.tid
        assert r2.xor_relayed_addresses == r1.xor_relayed_addresses
        assert r2.xor_mapped_address == r1.xor_mapped_address
        assert abs(r2.lifetime - r1.lifetime) <= 1
        assert c.verify_response(r2) is True
        c.relayed = r1.xor_relayed_addresses
        err(c.allocate(), 437, "new Allocate transaction on the same 5-tuple")
        ok(c.refresh(lifetime=0))


@pytest.mark.rfc_only("coturn 4.6.1 keeps serving CreatePermission on a deleted allocation")
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_refresh_zero_deletes(turn_server, transport):
    with tc(turn_server, "v4", transport) as c, Peer() as peer:
        ok(c.allocate())
        relayed = c.relayed[0]
        r = ok(c.refresh(lifetime=0), "Refresh 0")
        assert r.lifetime in (None, 0)
        err(c.create_permission([peer.address]), 437, "CreatePermission after delete")
        err(c.refresh(), 437, "Refresh after delete")
        peer.send_to(relayed, b"to a deleted allocation")
        assert nothing_arrives(c), "data relayed by a deleted allocation"


@pytest.mark.parametrize("method", [
    "refresh",
    pytest.param("create_permission", marks=pytest.mark.rfc_only("coturn 4.6.1 answers 400")),
    pytest.param("channel_bind", marks=pytest.mark.rfc_only("coturn 4.6.1 answers 400")),
])
def test_requests_without_allocation_437(turn_server, method):
    with tc(turn_server) as c:
        first_challenge(c)
        if method == "refresh":
            r = c.refresh()
        elif method == "create_permission":
            r = c.create_permission([("127.0.0.1", 1)])
        else:
            r = c.channel_bind(0x4000, ("127.0.0.1", 1))
        err(r, 437, f"{method} without allocation")


def test_refresh_with_other_family_443(turn_server):
    """RFC 8656 §8.2: REQUESTED-ADDRESS-FAMILY in a Refresh not matching the allocation -> 443."""
    with allocation(turn_server) as c:
        err(c.refresh(family=FAMILY_V6), 443, "Refresh of a v4 allocation asking for v6")


def test_tcp_close_frees_allocation(turn_server):
    """RFC 8656 §5: closing the TCP connection deletes its allocation (the relay port is freed)."""
    c = tc(turn_server, "v4", "tcp")
    try:
        ok(c.allocate())
        relayed = c.relayed[0]
    finally:
        c.close()
    deadline = time.monotonic() + 3.0
    freed = False
    while time.monotonic() < deadline and not freed:
        freed = procs._can_bind(relayed[1], kinds=(socket.SOCK_DGRAM,), hosts=("127.0.0.1",))
        if not freed:
            time.sleep(0.1)
    assert freed, f"relay port {relayed[1]} still in use 3 s after the TCP connection closed"


# --- permissions, Send and Data ----------------------------------------------------------------

@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_send_and_data_indications(turn_server, transport):
    with allocation(turn_server, "v4", transport) as c, Peer() as peer:
        relayed = c.relayed[0]
        ok(c.create_permission([peer.address]), "CreatePermission")
        c.send_indication(peer.address, b"hello peer")
        expect_peer_gets(peer, b"hello peer", relayed)
        peer.send_to(relayed, b"hello client")
        expect_data_indication(c, b"hello client", peer.address)


def test_create_permission_several_peers(turn_server):
    peers = [Peer(ip) for ip in ("127.0.0.1", "127.0.0.2", "127.0.0.3")]
    try:
        with allocation(turn_server) as c:
            ok(c.create_permission([p.address for p in peers]), "CreatePermission with 3 peers")
            for i, p in enumerate(peers):
                p.send_to(c.relayed[0], b"from peer %d" % i)
                expect_data_indication(c, b"from peer %d" % i, p.address)
                c.send_indication(p.address, b"to peer %d" % i)
                expect_peer_gets(p, b"to peer %d" % i, c.relayed[0])
    finally:
        for p in peers:
            p.close()


def test_permission_less_peer_dropped(turn_server):
    with allocation(turn_server) as c, Peer("127.0.0.1") as allowed, Peer("127.0.0.2") as stranger:
        ok(c.create_permission([allowed.address]))
        stranger.send_to(c.relayed[0], b"unsolicited")
        assert nothing_arrives(c), "data from a peer without permission was relayed"
        c.send_indication(stranger.address, b"to stranger")
        assert stranger.recv(QUIET) is None, "Send indication to a peer without permission was relayed"
        allowed.send_to(c.relayed[0], b"welcome")
        expect_data_indication(c, b"welcome", allowed.address)
        # a permission is for an IP address: another port of a permitted IP passes
        with Peer("127.0.0.1") as same_ip:
            same_ip.send_to(c.relayed[0], b"other port")
            expect_data_indication(c, b"other port", same_ip.address)


def test_create_permission_missing_peer_400(turn_server):
    with allocation(turn_server) as c:
        err(c.create_permission([]), 400, "CreatePermission without XOR-PEER-ADDRESS")


def test_peer_address_family_mismatch_443(turn_server):
    with allocation(turn_server) as c:
        err(c.create_permission([("::1", 5000)]), 443, "v6 peer on a v4 allocation")


def test_dont_fragment(turn_server):
    """DONT-FRAGMENT is optional (RFC 8656 §7.2 step 4, §11.2): a server that supports it accepts
    it in Allocate and relays Send indications carrying it; one that does not answers the
    Allocate with 420 listing it and drops such Send indications."""
    with tc(turn_server) as c, Peer() as peer:
        r = c.allocate(dont_fragment=True)
        assert r is not None, "no answer to Allocate with DONT-FRAGMENT"
        supported = r.is_success
        if not supported:
            err(r, 420)
            assert r.unknown_attributes == [AttrType.DONT_FRAGMENT]
            ok(c.allocate(), "Allocate without DONT-FRAGMENT")
        ok(c.create_permission([peer.address]))
        c.send_indication(peer.address, b"df", dont_fragment=True)
        got = peer.recv(2.0 if supported else QUIET)
        if supported:
            assert got is not None and got[0] == b"df", "Send with DONT-FRAGMENT not relayed"
        else:
            assert got is None, "Send with an unsupported DONT-FRAGMENT was relayed"
        c.send_indication(peer.address, b"plain")
        expect_peer_gets(peer, b"plain", c.relayed[0])
        ok(c.refresh(lifetime=0))
        c.relayed = []


def test_oversized_peer_datagram_never_truncated(turn_server):
    """A 4000-byte datagram from a peer is relayed whole or dropped, never cut."""
    with allocation(turn_server) as c, Peer() as peer:
        ok(c.create_permission([peer.address]))
        big = payload(1, 4000)
        peer.send_to(c.relayed[0], big)
        got = c.recv_data(1.0)
        if got is not None:
            assert got[1] == big, f"relayed {len(got[1])} of 4000 bytes"
        c.send_indication(peer.address, big)
        got = peer.recv(1.0)
        if got is not None:
            assert got[0] == big, f"peer got {len(got[0])} of 4000 bytes"


# --- channels ----------------------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_channel_bind_and_channel_data(turn_server, transport):
    with allocation(turn_server, "v4", transport) as c, Peer() as peer:
        relayed = c.relayed[0]
        ok(c.channel_bind(0x4000, peer.address), "ChannelBind 0x4000")
        # lengths 1..9 exercise every TCP padding length, both ways
        for n in range(1, 10):
            data = payload(n, n)
            c.send_channel_data(0x4000, data)
            expect_peer_gets(peer, data, relayed)
            peer.send_to(relayed, data[::-1])
            expect_channel_data(c, 0x4000, data[::-1])
        # the stream is still in sync for STUN after ChannelData
        ok(c.refresh(), "Refresh after ChannelData")


def test_channel_bind_installs_permission(turn_server):
    with allocation(turn_server) as c, Peer("127.0.0.2") as peer:
        ok(c.channel_bind(0x4001, peer.address))
        peer.send_to(c.relayed[0], b"via channel")
        expect_channel_data(c, 0x4001, b"via channel")
        # Send indications to a channel-bound peer still work
        c.send_indication(peer.address, b"indication")
        expect_peer_gets(peer, b"indication", c.relayed[0])


@pytest.mark.parametrize("channel", [0x0000, 0x3FFF, 0x8000, 0xFFFF])
def test_channel_bind_invalid_number_400(turn_server, channel):
    with allocation(turn_server) as c:
        err(c.channel_bind(channel, ("127.0.0.1", 5000)), 400, f"ChannelBind 0x{channel:04X}")


def test_channel_bind_missing_attributes_400(turn_server):
    with allocation(turn_server) as c:
        err(c.channel_bind(0x4000, ("127.0.0.1", 5000), with_number=False), 400, "no CHANNEL-NUMBER")
        err(c.channel_bind(0x4000, ("127.0.0.1", 5000), with_peer=False), 400, "no XOR-PEER-ADDRESS")


def test_channel_rebind_rules(turn_server):
    with allocation(turn_server) as c, Peer() as a, Peer() as b:
        ok(c.channel_bind(0x4002, a.address), "ChannelBind")
        ok(c.channel_bind(0x4002, a.address), "refreshing the same binding")
        err(c.channel_bind(0x4002, b.address), 400, "same channel to another peer")
        err(c.channel_bind(0x4003, a.address), 400, "same peer to another channel")
        # the original binding still works
        a.send_to(c.relayed[0], b"still bound")
        expect_channel_data(c, 0x4002, b"still bound")


@pytest.mark.parametrize("channel", [0x5000, 0x7FFF])
def test_rfc5766_channel_numbers_accepted_by_default(turn_server, channel):
    """0x5000-0x7FFF (RFC 5766's range, used by deployed clients) is accepted by default."""
    with allocation(turn_server) as c, Peer() as peer:
        ok(c.channel_bind(channel, peer.address), f"ChannelBind 0x{channel:04X}")
        c.send_channel_data(channel, b"old range")
        expect_peer_gets(peer, b"old range", c.relayed[0])
        peer.send_to(c.relayed[0], b"back")
        expect_channel_data(c, channel, b"back")


@pytest.mark.turnd_only("--strict-channel-numbers is a turnd flag")
def test_strict_channel_numbers(server_factory, threads):
    s = server_factory(procs.ServerConfig(threads=threads, users=[ALICE], strict_channel_numbers=True,
                                          relay_window=20))
    with allocation(s) as c, Peer() as peer:
        for ch in (0x5000, 0x7FFF):
            err(c.channel_bind(ch, peer.address), 400, f"strict: ChannelBind 0x{ch:04X}")
        ok(c.channel_bind(0x4FFF, peer.address), "strict: ChannelBind 0x4FFF")


def test_channel_data_on_unbound_channel_dropped(turn_server):
    with allocation(turn_server) as c, Peer() as peer:
        ok(c.create_permission([peer.address]))
        c.send_channel_data(0x4005, b"nobody bound me")
        assert peer.recv(QUIET) is None, "ChannelData on an unbound channel was relayed"
        ok(c.refresh(), "server still answers this client")


def test_relay_to_relay(turn_server):
    """Both clients on this server (the usual browser call): each one's peer is the other's
    relayed address."""
    with allocation(turn_server) as a, allocation(turn_server, "v6", "tcp", user=BOB) as b:
        ra, rb = a.relayed[0], b.relayed[0]
        ok(a.create_permission([rb]))
        ok(b.channel_bind(0x4000, ra))
        a.send_indication(rb, b"a->b")
        got = b.recv_channel_data(2.0)
        assert got == (0x4000, b"a->b"), f"b got {got}"
        b.send_channel_data(0x4000, b"b->a")
        expect_data_indication(a, b"b->a", rb)


# --- data integrity ----------------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["udp", "tcp"])
@pytest.mark.parametrize("mechanism", ["indication", "channel"])
def test_data_integrity_both_ways(turn_server, transport, mechanism):
    """120 payloads of 1..1400 bytes each way, lock-step, each compared byte for byte and
    carrying its own SHA-256 prefix."""
    rng = random.Random(42)
    with allocation(turn_server, "v4", transport) as c, Peer() as peer:
        relayed = c.relayed[0]
        if mechanism == "channel":
            ok(c.channel_bind(0x4ABC, peer.address))
        else:
            ok(c.create_permission([peer.address]))
        for i in range(120):
            size = rng.choice([1, 2, 3, 4, 5, 20, 100, 500, 999, 1200, 1400, rng.randint(1, 1400)])
            up, down = payload(i, size), payload(i + 10000, size)
            if mechanism == "channel":
                c.send_channel_data(0x4ABC, up)
            else:
                c.send_indication(peer.address, up)
            expect_peer_gets(peer, up, relayed)
            peer.send_to(relayed, down)
            if mechanism == "channel":
                expect_channel_data(c, 0x4ABC, down)
            else:
                expect_data_indication(c, down, peer.address)


# --- IPv6 and dual allocations -----------------------------------------------------------------

@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_ipv6_relay(dual_server, transport):
    with allocation(dual_server, "v6", transport, alloc={"family": FAMILY_V6}) as c, Peer("::1") as peer:
        assert len(c.relayed) == 1
        relayed = c.relayed[0]
        assert relayed[0] == "::1", f"relayed {relayed}"
        assert in_window(dual_server, relayed)
        assert c.mapped == c.local_address
        ok(c.create_permission([peer.address]))
        c.send_indication(peer.address, b"v6 out")
        expect_peer_gets(peer, b"v6 out", relayed)
        peer.send_to(relayed, b"v6 in")
        expect_data_indication(c, b"v6 in", peer.address)
        ok(c.channel_bind(0x4010, peer.address))
        c.send_channel_data(0x4010, b"v6 channel")
        expect_peer_gets(peer, b"v6 channel", relayed)


def test_ipv6_client_gets_ipv4_relay_by_default(dual_server):
    """RFC 8656 §7.2 step 7: without REQUESTED-ADDRESS-FAMILY the relayed address is IPv4."""
    with allocation(dual_server, "v6") as c:
        assert [a[0] for a in c.relayed] == ["127.0.0.1"]


def test_ipv4_client_ipv6_relay(dual_server):
    with allocation(dual_server, "v4", alloc={"family": FAMILY_V6}) as c, Peer("::1") as peer:
        assert c.relayed[0][0] == "::1"
        ok(c.create_permission([peer.address]))
        peer.send_to(c.relayed[0], b"cross family")
        expect_data_indication(c, b"cross family", peer.address)


NO_AAF = pytest.mark.rfc_only("coturn 4.6.1 ignores ADDITIONAL-ADDRESS-FAMILY")


@NO_AAF
def test_dual_allocation(dual_server):
    """ADDITIONAL-ADDRESS-FAMILY IPv6: two XOR-RELAYED-ADDRESS (v4 and v6), both relaying."""
    with allocation(dual_server, "v4", alloc={"additional_family": FAMILY_V6}) as c, \
            Peer("127.0.0.1") as p4, Peer("::1") as p6:
        fams = sorted(a[0] for a in c.relayed)
        assert fams == ["127.0.0.1", "::1"], f"relayed {c.relayed}"
        assert c.last_response.address_error_code is None
        r4 = [a for a in c.relayed if a[0] == "127.0.0.1"][0]
        r6 = [a for a in c.relayed if a[0] == "::1"][0]
        assert in_window(dual_server, r4) and in_window(dual_server, r6)
        ok(c.create_permission([p4.address, p6.address]), "CreatePermission v4 + v6")
        c.send_indication(p4.address, b"to v4")
        expect_peer_gets(p4, b"to v4", r4)
        c.send_indication(p6.address, b"to v6")
        expect_peer_gets(p6, b"to v6", r6)
        p6.send_to(r6, b"from v6")
        expect_data_indication(c, b"from v6", p6.address)
        p4.send_to(r4, b"from v4")
        expect_data_indication(c, b"from v4", p4.address)
        ok(c.refresh(), "Refresh of a dual allocation")


@NO_AAF
def test_additional_family_ipv4_400(dual_server):
    with tc(dual_server) as c:
        err(c.allocate(additional_family=FAMILY_V4), 400, "ADDITIONAL-ADDRESS-FAMILY IPv4")


@NO_AAF
def test_requested_and_additional_family_400(dual_server):
    with tc(dual_server) as c:
        err(c.allocate(family=FAMILY_V4, additional_family=FAMILY_V6), 400, "RAF + AAF")


def test_unsupported_family_440(server_factory, threads):
    """A server with no IPv6 address at all (listens and relays on 127.0.0.1 only) cannot relay
    IPv6. (turnd relays a family from a listen address of that family when no --relay-ip of the
    family is given, so the IPv6 listen address is left out here.)"""
    s = server_factory(procs.ServerConfig(threads=threads, users=[ALICE], relay_window=20,
                                          listen=[("127.0.0.1", procs.free_port())]))
    with tc(s, "v4") as c:
        err(c.allocate(family=FAMILY_V6), 440, "REQUESTED-ADDRESS-FAMILY IPv6 on a v4-only server")
        ok(c.allocate(family=FAMILY_V4), "REQUESTED-ADDRESS-FAMILY IPv4 on the same 5-tuple")
        ok(c.refresh(lifetime=0))
        c.relayed = []


def test_invalid_family_value(turn_server):
    with tc(turn_server) as c:
        r = c.allocate(family=0x03)
        assert r is not None and r.is_error and r.error_code in (400, 440), str(r)


# --- peer filter ---------------------------------------------------------------------------------

@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_default_peer_filter_denies_loopback(server_factory, threads, transport):
    s = server_factory(procs.ServerConfig(threads=threads, users=[ALICE], allow_peers=(),
                                          relay_window=20))
    with allocation(s, "v4", transport) as c, Peer() as peer:
        err(c.create_permission([peer.address]), 403, "CreatePermission to 127.0.0.1")
        err(c.channel_bind(0x4000, peer.address), 403, "ChannelBind to 127.0.0.1")
        c.send_indication(peer.address, b"must not leave")
        assert peer.recv(QUIET) is None, "Send indication to a denied peer was relayed"


@pytest.mark.parametrize("peer_ip", ["::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "::127.0.0.1"])
def test_default_peer_filter_denies_v6_forms_of_loopback(server_factory, threads, peer_ip):
    if SERVER_KIND == "coturn" and peer_ip != "::1" and os.environ.get("TURND_RUN_RFC_ONLY") != "1":
        pytest.skip("coturn 4.6.1 does not treat mapped / NAT64 / compatible forms as loopback")
    s = server_factory(procs.ServerConfig(threads=threads, users=[ALICE], allow_peers=(),
                                          relay_ips=["127.0.0.1", "::1"], relay_window=20))
    with allocation(s, "v6", alloc={"family": FAMILY_V6}) as c:
        err(c.create_permission([(peer_ip, 5000)]), 403, f"CreatePermission to {peer_ip}")


# --- EVEN-PORT / RESERVATION-TOKEN --------------------------------------------------------------

def test_even_port_with_reservation(turn_server):
    with allocation(turn_server, alloc={"even_port": True}) as a:
        port = a.relayed[0][1]
        assert port % 2 == 0, f"EVEN-PORT gave odd port {port}"
        token = a.last_response.reservation_token
        assert token is not None and len(token) == 8, "no 8-byte RESERVATION-TOKEN"
        with allocation(turn_server, "v6", alloc={"reservation_token": token}) as b:
            assert b.relayed[0] == ("127.0.0.1", port + 1), f"reserved allocation got {b.relayed}"


@pytest.mark.rfc_only("coturn 4.6.1 answers 404 for a spent token")
def test_spent_reservation_token_508(turn_server):
    with allocation(turn_server, alloc={"even_port": True}) as a:
        token = a.last_response.reservation_token
        assert token is not None
        with allocation(turn_server, alloc={"reservation_token": token}):
            pass
        with tc(turn_server) as c:
            err(c.allocate(reservation_token=token), 508, "reusing a spent RESERVATION-TOKEN")


def test_even_port_without_reservation(turn_server):
    with allocation(turn_server, alloc={"even_port": False}) as a:
        assert a.relayed[0][1] % 2 == 0
        assert a.last_response.reservation_token is None


def test_even_port_and_reservation_token_400(turn_server):
    with tc(turn_server) as c:
        err(c.allocate(even_port=False, reservation_token=b"\x01" * 8), 400, "EVEN-PORT + RESERVATION-TOKEN")


@pytest.mark.rfc_only("coturn 4.6.1 answers 404")
def test_unknown_reservation_token_508(turn_server):
    with tc(turn_server) as c:
        err(c.allocate(reservation_token=os.urandom(8)), 508, "unknown RESERVATION-TOKEN")


def test_reservation_token_with_family_400(turn_server):
    with tc(turn_server) as c:
        err(c.allocate(family=FAMILY_V4, reservation_token=b"\x02" * 8), 400, "RESERVATION-TOKEN + RAF")


@pytest.mark.rfc_only("coturn 4.6.1 does not check EVEN-PORT R=1 with ADDITIONAL-ADDRESS-FAMILY")
def test_even_port_reserve_with_additional_family_400(dual_server):
    with tc(dual_server) as c:
        err(c.allocate(even_port=True, additional_family=FAMILY_V6), 400, "EVEN-PORT R=1 + AAF")


# --- quotas and capacity -------------------------------------------------------------------------

def test_user_quota_486(server_factory, threads):
    s = server_factory(procs.ServerConfig(threads=threads, users=[ALICE, BOB], user_quota=1,
                                          relay_window=20))
    with allocation(s) as first:
        with tc(s, "v6") as second:
            err(second.allocate(), 486, "second allocation of alice with --user-quota 1")
        with allocation(s, user=BOB):
            pass


@pytest.mark.rfc_only("coturn 4.6.1 counts a deleted allocation against the quota for a while")
def test_user_quota_freed_by_delete(server_factory, threads):
    s = server_factory(procs.ServerConfig(threads=threads, users=[ALICE], user_quota=1, relay_window=20))
    with tc(s) as first:
        ok(first.allocate())
        ok(first.refresh(lifetime=0))
    with allocation(s, "v6"):
        pass  # alice may allocate again once her first allocation is gone


def test_total_quota(server_factory, threads):
    s = server_factory(procs.ServerConfig(threads=threads, users=[ALICE, BOB], total_quota=1,
                                          relay_window=20))
    with allocation(s):
        with tc(s, user=BOB) as c:
            r = c.allocate()
            assert r is not None and r.is_error and r.error_code in (486, 508), \
                f"second allocation with --total-quota 1: {r}"


def test_relay_port_exhaustion_508(server_factory, threads):
    """Two relay ports: at most two allocations, then 508."""
    lo, _ = procs.relay_port_window(2)
    s = server_factory(procs.ServerConfig(threads=threads, users=[ALICE], relay_ports=(lo, lo + 1)))
    clients = []
    try:
        results = []
        for i in range(4):
            c = tc(s, "v4" if i % 2 == 0 else "v6")
            clients.append(c)
            results.append(c.allocate())
        assert all(r is not None for r in results)
        good = [r for r in results if r.is_success]
        bad = [r for r in results if not r.is_success]
        assert all(r.error_code == 508 for r in bad), [str(r) for r in bad]
        assert len(good) <= 2 and bad, f"{len(good)} allocations from 2 relay ports"
        if threads == 1:
            assert len(good) == 2, "only one of the two relay ports was used"
        else:
            assert len(good) >= 1
        for r in good:
            assert lo <= r.xor_relayed_address[1] <= lo + 1
    finally:
        for c in clients:
            if c.relayed:
                c.refresh(lifetime=0)
            c.close()


# --- lifetime expiry ---------------------------------------------------------------------------

def test_allocation_expires(server_factory, threads):
    """Lifetime 3 s (turnd: relay.default_lifetime 3 in a config file and --max-lifetime 3;
    coturn: --max-allocate-lifetime 3): afterwards Refresh gets 437 and peer data is no longer
    relayed. A server that still grants more than 10 s makes the test skip."""
    s = server_factory(procs.ServerConfig(threads=threads, users=[ALICE], max_lifetime=3,
                                          default_lifetime=3, relay_window=20))
    with tc(s) as c, Peer() as peer:
        r = ok(c.allocate(lifetime=3))
        if r.lifetime > 10:
            pytest.skip(f"server granted {r.lifetime} s despite the maximum of 3 s")
        ok(c.create_permission([peer.address]))
        peer.send_to(c.relayed[0], b"alive")
        expect_data_indication(c, b"alive", peer.address)
        time.sleep(r.lifetime + 2.0)
        peer.send_to(c.relayed[0], b"too late")
        assert nothing_arrives(c), "data relayed after the allocation expired"
        err(c.refresh(), 437, "Refresh after expiry")
