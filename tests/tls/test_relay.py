"""TURN over TLS and over DTLS with our own client (tests/lib/turnclient, transports "tls" and
"dtls"): Allocate with REST credentials, CreatePermission, Send indication to a UDP peer on
loopback and a Data indication back, ChannelBind and ChannelData both ways (padded over TLS, not
over DTLS), bursts in one TLS record and a frame split across records, Refresh 0; the allocation
is counted under its transport (/metrics, and the sessions API), and closing the TLS connection
or the DTLS session releases it."""

import json
import os
import socket
import time
import urllib.request

import pytest

import _paths  # noqa: F401
import tlslib
from tlslib import ALPN_TURN, HOST, SECRET
from turnclient import TurnClient, codec, rest_credentials

API_KEY = "tls-admin-" + os.urandom(6).hex()
CHANNEL = 0x4001
SIZES = [1, 2, 3, 4, 5, 63, 100, 1001, 1200]


@pytest.fixture
def server(server_factory, threads, tmp_path):
    pair = tlslib.make_pair(str(tmp_path), "server")
    return tlslib.start_tls_server(server_factory, threads, pair, config_yaml=(
        f"admin:\n  api_key: \"{API_KEY}\"\n"))


@pytest.fixture
def peer():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 0))
    s.settimeout(2)
    yield s
    s.close()


def client(server, kind, user="tls-user"):
    addr = server.tls if kind == "tls" else server.dtls
    u, p = rest_credentials(SECRET, user)
    c = TurnClient(addr, kind, username=u, password=p,
                   transport_options={"cafile": server.pair.cert, "alpn": [ALPN_TURN]})
    return c


def sessions(server):
    req = urllib.request.Request(f"http://{HOST}:{server.admin}/api/v1/allocations",
                                 headers={"Authorization": "Bearer " + API_KEY})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())["allocations"]


def counted_as(server, kind, n):
    """The live allocations of transport `kind` are n, by /metrics
    (turnd_allocations_by_transport) and by the sessions API."""
    by_metric = tlslib.allocations_by_transport(tlslib.scrape(server.admin), kind)
    by_api = sum(1 for a in sessions(server) if a.get("transport") == kind)
    return by_metric == n and by_api == n


def describe_counts(server):
    m = tlslib.scrape(server.admin)
    return {"metrics": {k: v for k, v in m.items() if k.startswith("turnd_allocations")} or
            "no turnd_allocations* metric",
            "sessions": [(a.get("transport"), a.get("user") or a.get("username")) for a in sessions(server)]}


@pytest.mark.parametrize("kind", ["tls", "dtls"])
def test_relay_over_secure_transport(server, peer, kind):
    m0 = tlslib.scrape(server.admin)
    with client(server, kind) as c:
        resp = c.allocate()
        assert resp is not None and resp.is_success, resp
        assert len(c.challenges) == 1 and c.challenges[0].error_code == 401
        assert c.verify_response(resp), "Allocate success without valid integrity"
        assert c.mapped == c.local_address, (c.mapped, c.local_address)
        relay = c.relayed[0]
        assert relay[0] == HOST
        assert tlslib.wait_for(lambda: counted_as(server, kind, 1), 3), describe_counts(server)

        # permission + Send indication -> peer; peer -> Data indication
        assert c.create_permission([peer.getsockname()]).is_success
        for size in SIZES:
            payload = os.urandom(size)
            c.send_indication(peer.getsockname(), payload)
            data, src = peer.recvfrom(4096)
            assert (data, src) == (payload, relay), f"Send indication of {size} bytes"
            peer.sendto(payload[::-1], relay)
            got = c.recv_data(3)
            assert got == (peer.getsockname(), payload[::-1]), f"Data indication of {size} bytes"

        # ChannelBind + ChannelData both ways, odd sizes (padding over TLS)
        assert c.channel_bind(CHANNEL, peer.getsockname()).is_success
        for size in SIZES:
            payload = os.urandom(size)
            c.send_channel_data(CHANNEL, payload)
            data, src = peer.recvfrom(4096)
            assert (data, src) == (payload, relay), f"ChannelData of {size} bytes to the peer"
            peer.sendto(payload[::-1], relay)
            assert c.recv_channel_data(3) == (CHANNEL, payload[::-1]), f"ChannelData of {size} back"

        # a burst from the peer arrives complete and in order
        for i in range(100):
            peer.sendto(b"burst-%03d" % i, relay)
        got = [c.recv_channel_data(3) for _ in range(100)]
        assert [g[1] if g else None for g in got] == [b"burst-%03d" % i for i in range(100)]

        assert c.refresh(0).is_success, c.last_response
        assert tlslib.wait_for(lambda: counted_as(server, kind, 0), 3), describe_counts(server)
        m1 = tlslib.scrape(server.admin)
        assert tlslib.handshakes(m1, kind) >= tlslib.handshakes(m0, kind) + 1


def test_tls_records_carry_many_frames_and_split_frames(server, peer):
    with client(server, "tls") as c:
        assert c.allocate().is_success
        relay = c.relayed[0]
        assert c.channel_bind(CHANNEL, peer.getsockname()).is_success
        # 30 padded ChannelData frames of odd sizes in one write (one TLS record)
        payloads = [b"x" * (i % 7 + 1) + b"%02d" % i for i in range(30)]
        c.send_raw(b"".join(codec.encode_channel_data(CHANNEL, p, pad=True) for p in payloads))
        got = [peer.recvfrom(4096)[0] for _ in payloads]
        assert got == payloads
        # one frame and a Binding request, each cut into two writes (two records)
        frame = codec.encode_channel_data(CHANNEL, b"split-frame", pad=True)
        c.send_raw(frame[:3])
        time.sleep(0.05)
        c.send_raw(frame[3:])
        assert peer.recvfrom(4096) == (b"split-frame", relay)
        req = c.binding_request()
        wire = req.encode()
        c.send_raw(wire[:21])
        time.sleep(0.05)
        resp = c.transact_raw(req, wire[21:])
        assert resp is not None and resp.is_success


@pytest.mark.parametrize("kind", ["tls", "dtls"])
def test_closing_releases_the_allocation(server, kind):
    c = client(server, kind, user=f"close-{kind}")
    assert c.allocate().is_success
    assert tlslib.wait_for(lambda: counted_as(server, kind, 1), 3), describe_counts(server)
    c.close()  # TLS: TCP FIN after nothing; DTLS: close_notify
    assert tlslib.wait_for(lambda: counted_as(server, kind, 0), 5), \
        f"allocation still there after the {kind} close: {describe_counts(server)}"


def test_a_tls_client_and_a_udp_client_relay_to_each_other(server):
    """Transports mix: a TLS allocation and a plain UDP one, each the other's peer."""
    a = client(server, "tls", "mix-a")
    u, p = rest_credentials(SECRET, "mix-b")
    b = TurnClient(server.address, "udp", username=u, password=p)
    try:
        assert a.allocate().is_success and b.allocate().is_success
        ra, rb = a.relayed[0], b.relayed[0]
        assert a.create_permission([rb]).is_success and b.create_permission([ra]).is_success
        assert a.channel_bind(CHANNEL, rb).is_success and b.channel_bind(CHANNEL + 1, ra).is_success
        for i in range(20):
            a.send_channel_data(CHANNEL, b"a->b %d" % i)
            assert b.recv_channel_data(3) == (CHANNEL + 1, b"a->b %d" % i)
            b.send_channel_data(CHANNEL + 1, b"b->a %d" % i)
            assert a.recv_channel_data(3) == (CHANNEL, b"b->a %d" % i)
    finally:
        a.close()
        b.close()
