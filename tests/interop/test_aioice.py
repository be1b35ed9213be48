"""Debian's python3-aioice TURN client and ICE agent against the server.

* create_turn_endpoint over UDP and TCP: datagrams to a plain UDP echo peer
  and back (ChannelData, aioice's own path), datagrams the peer starts, and
  Send/Data indications to a second peer through aioice's codec (see
  aioice_ext), all compared byte for byte; then Refresh and deallocation.
* Two aioice ICE Connections, relay candidates only, exchanging data.
"""

import asyncio
import os
import struct

import pytest

import aioice
from aioice import stun

import aioice_ext
from turnclient import rest_credentials

aioice_ext.install()

TIMEOUT = 60


class Collector(asyncio.DatagramProtocol):
    """Receiving side of a TURN endpoint (or a plain UDP socket)."""

    def __init__(self, echo=False):
        self.queue = asyncio.Queue()
        self.received = []
        self.echo = echo
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        data = bytes(data)
        self.received.append((data, (addr[0], addr[1])))
        if self.echo:
            self.transport.sendto(data, addr)
        self.queue.put_nowait((data, (addr[0], addr[1])))


def make_payloads(tag, count, sizes=(8, 9, 37, 100, 511, 1000, 1200)):
    """Unique payloads: 4-byte tag, sequence number, random bytes; odd sizes
    exercise ChannelData padding over TCP."""
    return [struct.pack("!4sI", tag, i) + os.urandom(sizes[i % len(sizes)] - 8) for i in range(count)]


async def collect(queue, n, what, timeout=10.0):
    """Up to n items from queue, waiting at most `timeout` seconds in all."""
    got = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(got) < n:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            got.append(await asyncio.wait_for(queue.get(), remaining))
        except asyncio.TimeoutError:
            break
    return got


def check_same(sent, received, what):
    """Every payload sent arrived exactly once, byte for byte."""
    got = sorted(received)
    want = sorted(sent)
    missing = [p[:8] for p in want if p not in got]
    extra = [p[:8] for p in got if p not in want]
    assert not missing and not extra and len(got) == len(want), (
        "%s: sent %d, received %d; missing %d (headers %r), unexpected/corrupted %d (headers %r)"
        % (what, len(want), len(got), len(missing), missing[:5], len(extra), extra[:5]))


async def turn_endpoint_exchange(srv, transport_name):
    loop = asyncio.get_running_loop()
    host, port = srv.address
    relay_lo, relay_hi = srv.relay_ports
    username, password = rest_credentials(srv.config.secrets[0], "aioice")
    aioice_ext.COUNTS.clear()

    peer_t, peer = await loop.create_datagram_endpoint(lambda: Collector(echo=True), local_addr=("127.0.0.1", 0))
    peer2_t, peer2 = await loop.create_datagram_endpoint(lambda: Collector(echo=True), local_addr=("127.0.0.1", 0))
    peer_addr = peer_t.get_extra_info("sockname")[:2]
    peer2_addr = peer2_t.get_extra_info("sockname")[:2]
    try:
        try:
            turn_t, client = await aioice.turn.create_turn_endpoint(
                Collector, server_addr=(host, port), username=username, password=password,
                transport=transport_name, lifetime=600)
        except stun.TransactionFailed as e:
            pytest.fail("Allocate over %s failed: %s (error %r)" % (
                transport_name, e, e.response.attributes.get("ERROR-CODE")))
        inner = aioice_ext.inner_protocol(turn_t)
        relayed = turn_t.get_extra_info("sockname")
        assert relayed[0] == host, "relayed address %r is not on %s" % (relayed, host)
        assert relay_lo <= relayed[1] <= relay_hi, (
            "relayed port %d outside the configured window %d-%d" % (relayed[1], relay_lo, relay_hi))

        # 1. client -> peer -> client (ChannelBind + ChannelData)
        payloads = make_payloads(b"CHAN", 30)
        for p in payloads:
            turn_t.sendto(p, peer_addr)
            await asyncio.sleep(0.005)
        echoed = await collect(client.queue, len(payloads), "echo")
        check_same(payloads, [d for d, _ in peer.received], "client->peer over ChannelData")
        assert all(a == tuple(relayed) for _, a in peer.received), (
            "peer saw sources %r, expected the relayed address %r" % ({a for _, a in peer.received}, relayed))
        check_same(payloads, [d for d, _ in echoed], "peer->client echo")
        assert all(a == tuple(peer_addr) for _, a in echoed), "echo attributed to %r" % {a for _, a in echoed}
        assert aioice_ext.COUNTS["channel-data"] >= len(payloads), (
            "expected the echoes as ChannelData, got %r" % dict(aioice_ext.COUNTS))

        # 2. peer-initiated datagrams to the relayed address
        unsolicited = make_payloads(b"PEER", 10)
        for p in unsolicited:
            peer_t.sendto(p, tuple(relayed))
        got = await collect(client.queue, len(unsolicited), "peer-initiated")
        check_same(unsolicited, [d for d, _ in got], "peer-initiated peer->client")

        # 3. Send / Data indications to a second peer (no channel for it)
        key = inner.integrity_key
        assert key is not None, "client never authenticated"
        perm = stun.Message(message_method=stun.Method.CREATE_PERMISSION, message_class=stun.Class.REQUEST)
        perm.attributes["XOR-PEER-ADDRESS"] = tuple(peer2_addr)
        try:
            await inner.request_with_retry(perm)
        except stun.TransactionFailed as e:
            pytest.fail("CreatePermission failed: %r" % (e.response.attributes.get("ERROR-CODE"),))
        before = aioice_ext.COUNTS["data-indication"]
        ind_payloads = make_payloads(b"SEND", 12)
        for p in ind_payloads:
            msg = stun.Message(message_method=stun.Method.SEND, message_class=stun.Class.INDICATION)
            msg.attributes["XOR-PEER-ADDRESS"] = tuple(peer2_addr)
            msg.attributes["DATA"] = p
            inner.send_stun(msg, inner.server)
            await asyncio.sleep(0.005)
        got = await collect(client.queue, len(ind_payloads), "data-indication")
        check_same(ind_payloads, [d for d, _ in peer2.received], "Send indication -> peer2")
        assert all(a == tuple(relayed) for _, a in peer2.received), "peer2 saw sources %r" % {a for _, a in peer2.received}
        check_same(ind_payloads, [d for d, _ in got], "peer2 -> Data indication")
        assert all(a == tuple(peer2_addr) for _, a in got), "Data indications from %r" % {a for _, a in got}
        assert aioice_ext.COUNTS["data-indication"] - before == len(ind_payloads), (
            "expected %d Data indications, counts %r" % (len(ind_payloads), dict(aioice_ext.COUNTS)))
        assert aioice_ext.COUNTS["data-indication-incomplete"] == 0, dict(aioice_ext.COUNTS)

        # 4. Refresh, then deallocate (Refresh LIFETIME=0)
        refresh = stun.Message(message_method=stun.Method.REFRESH, message_class=stun.Class.REQUEST)
        refresh.attributes["LIFETIME"] = 300
        try:
            response, _ = await inner.request_with_retry(refresh)
        except stun.TransactionFailed as e:
            pytest.fail("Refresh failed: %r" % (e.response.attributes.get("ERROR-CODE"),))
        assert 0 < response.attributes.get("LIFETIME", 0) <= 3600, "Refresh LIFETIME %r" % response.attributes.get("LIFETIME")
        inner.refresh_handle and inner.refresh_handle.cancel()
        inner.refresh_handle = None
        dealloc = stun.Message(message_method=stun.Method.REFRESH, message_class=stun.Class.REQUEST)
        dealloc.attributes["LIFETIME"] = 0
        try:
            await inner.request_with_retry(dealloc)
        except stun.TransactionFailed as e:
            pytest.fail("Refresh(LIFETIME=0) failed: %r" % (e.response.attributes.get("ERROR-CODE"),))
        inner.transport.close()

        # 5. after deallocation nothing is relayed any more
        n_before = len(client.received)
        peer_t.sendto(b"after-dealloc", tuple(relayed))
        await asyncio.sleep(0.3)
        assert len(client.received) == n_before
    finally:
        peer_t.close()
        peer2_t.close()
    srv.assert_alive()
    assert aioice_ext.COUNTS["unparsable"] == 0, dict(aioice_ext.COUNTS)


@pytest.mark.parametrize("transport_name", ["udp", "tcp"])
def test_turn_endpoint(turn_server, transport_name):
    asyncio.run(asyncio.wait_for(turn_endpoint_exchange(turn_server, transport_name), TIMEOUT))


async def ice_exchange(srv, transport_name):
    aioice_ext.relay_only_host_addresses()
    aioice_ext.COUNTS.clear()
    host, port = srv.address
    conns = []
    for controlling, user in ((True, "ice-a"), (False, "ice-b")):
        username, password = rest_credentials(srv.config.secrets[0], user)
        conns.append(aioice.Connection(
            ice_controlling=controlling, components=1,
            turn_server=(host, port), turn_username=username, turn_password=password,
            turn_transport=transport_name, use_ipv6=False,
            transport_policy=aioice.TransportPolicy.RELAY))
    a, b = conns
    try:
        await asyncio.gather(a.gather_candidates(), b.gather_candidates())
        for c in conns:
            types = [cand.type for cand in c.local_candidates]
            assert types == ["relay"], "local candidates %r" % c.local_candidates
            assert c.local_candidates[0].host == host
        for x, y in ((a, b), (b, a)):
            for cand in x.local_candidates:
                await y.add_remote_candidate(cand)
            await y.add_remote_candidate(None)
            y.remote_username = x.local_username
            y.remote_password = x.local_password
        try:
            await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 30)
        except ConnectionError as e:
            pytest.fail("ICE over %s relays failed: %s; aioice TURN counters %r" % (
                transport_name, e, dict(aioice_ext.COUNTS)))

        for sender, receiver, tag in ((a, b, b"A->B"), (b, a, b"B->A")):
            payloads = make_payloads(tag, 25)
            for p in payloads:
                await sender.send(p)
                await asyncio.sleep(0.005)
            got = []
            for _ in payloads:
                try:
                    got.append(await asyncio.wait_for(receiver.recv(), 10))
                except asyncio.TimeoutError:
                    break
            check_same(payloads, got, "ICE data %s" % tag.decode())
    finally:
        for c in conns:
            await c.close()
    srv.assert_alive()


@pytest.mark.parametrize("transport_name", ["udp", "tcp"])
def test_ice(turn_server, transport_name):
    asyncio.run(asyncio.wait_for(ice_exchange(turn_server, transport_name), TIMEOUT))
