"""Issue 9, defect 1: relay to relay through the in-process hand-off must deliver exactly what
the kernel path delivers. Two TCP clients that permit each other's relayed address; A sends
oversize ChannelData or Send indications whose payload is made of forged Data indications.
Before the fix the receiver got a Data indication whose 16-bit length had wrapped, followed by
A's raw bytes, which its framer took for Data indications from any peer.

The receivers are checked with a sentinel: after each case A sends a short datagram, and every
frame the receiver sees before it must be exactly the datagram the kernel path would deliver
(payloads up to a relay slot, 2048 bytes) or nothing. With --threads 2 the clients may sit on
different shards: then the datagram goes through the rings between shards (issue 13), with the
same size rule; two receivers make it likely that one shares A's shard."""

import itertools

import pytest

import _paths  # noqa: F401
import procs
from conftest import start_server, stop_server
from turnclient import codec
from turnclient.codec import AttrType, DecodeError, Message
from turnclient.client import TurnClient
from turnclient.transport import ConnectionClosed

pytestmark = pytest.mark.turn

USERS = [("alice", "alicepw"), ("bob", "bobpw"), ("carol", "carolpw")]
RELAY_SLOT = 2048
FORGED_PEER = ("6.6.6.6", 666)
MAX_CHANNEL_DATA = 65535
MAX_SEND_DATA = 65535 - 12 - 4 - 8 - 3  # largest DATA of a Send indication (IPv4 peer,
#                                        FINGERPRINT), a multiple of 4
_seq = itertools.count()


def forged_stream(size: int) -> bytes:
    """`size` bytes of back-to-back Data indications 'from' FORGED_PEER (the attack payload)."""
    one = Message(codec.DATA, codec.INDICATION)
    one.add_xor_address(AttrType.XOR_PEER_ADDRESS, FORGED_PEER)
    one.add(AttrType.DATA, b"FORGED!!")
    unit = one.encode()
    return (unit * (size // len(unit) + 1))[:size]


@pytest.fixture(scope="module")
def server(threads):
    s = start_server(procs.ServerConfig(threads=threads, users=USERS, relay_ips=["127.0.0.1"],
                                        allow_peers=["127.0.0.0/8"]))
    yield s
    stop_server(s)


@pytest.fixture
def clients(server):
    """A sends; B binds a channel to A (gets ChannelData), C only permits A (gets Data
    indications). A has a channel to each."""
    made = []
    for user, pw in USERS:
        c = TurnClient(server.address, "tcp", username=user, password=pw)
        resp = c.allocate()
        assert resp is not None and resp.is_success, resp
        made.append(c)
    a, b, c = made
    for i, r in enumerate((b, c)):
        assert a.channel_bind(0x4001 + i, r.relayed[0]).is_success
        assert r.create_permission([a.relayed[0]]).is_success
    assert b.channel_bind(0x4010, a.relayed[0]).is_success
    yield a, b, c
    for x in made:
        x.close()


def forged_count(frames) -> int:
    n = 0
    for f in frames:
        try:
            n += f[0] == "stun" and Message.decode(f[1]).xor_peer_address == FORGED_PEER
        except DecodeError:
            pass
    return n


def frames_until(receiver: TurnClient, sentinel: bytes, timeout: float = 3.0):
    """Every frame the receiver gets before the one carrying `sentinel`, and that one."""
    got = []
    for _ in range(100000):
        try:
            fr = receiver.recv_frame(timeout)
        except DecodeError as e:
            raise AssertionError(f"receiver's stream desynchronised: {e}; {len(got)} frames "
                                 f"before, {forged_count(got)} of them forged") from e
        except ConnectionClosed:
            raise AssertionError("server closed the receiver's connection")
        assert fr is not None, (f"sentinel {sentinel!r} never arrived: the stream is out of step; "
                                f"{len(got)} frames before, {forged_count(got)} of them forged "
                                f"Data indications from {FORGED_PEER}")
        if sentinel in fr[1][-64:]:
            return got, fr
        got.append(fr)
    raise AssertionError("too many frames")


def decode_delivery(frame) -> bytes:
    """The payload of a relayed frame, checking its lengths, padding and origin."""
    if frame[0] == "channel":
        ch, data = codec.decode_channel_data(frame[1])
        assert ch == 0x4010, f"ChannelData on channel 0x{ch:04X}"
        return data
    assert frame[0] == "stun", frame[0]
    m = Message.decode(frame[1])  # checks the header length against the frame
    assert (m.method, m.cls) == (codec.DATA, codec.INDICATION), m
    assert m.xor_peer_address != FORGED_PEER, "forged Data indication delivered"
    return m.data


def check_case(a: TurnClient, receiver: TurnClient, rx_index: int, how: str, size: int, seq: int):
    payload = forged_stream(size)
    target = receiver.relayed[0]
    if how == "channel":
        a.send_channel_data(0x4001 + rx_index, payload)
    else:
        a.send_indication(target, payload)
    sentinel = b"sentinel-%d" % seq
    a.send_channel_data(0x4001 + rx_index, sentinel)
    before, last = frames_until(receiver, sentinel)
    assert decode_delivery(last) == sentinel
    delivered = [decode_delivery(f) for f in before]
    if size <= RELAY_SLOT:
        assert delivered == [payload], (
            f"{how} {size} B: expected the payload intact, got sizes {[len(d) for d in delivered]}")
    else:
        assert delivered == [], (
            f"{how} {size} B: a datagram over a relay slot was delivered "
            f"(sizes {[len(d) for d in delivered]}); the kernel path drops it")


SIZES = [8, 2047, 2048, 2049, 4096]


@pytest.mark.parametrize("how", ["channel", "send"])
@pytest.mark.parametrize("size", SIZES + ["max"])
def test_hand_off_delivers_what_the_kernel_would(server, clients, how, size):
    a, b, c = clients
    if size == "max":
        size = MAX_CHANNEL_DATA if how == "channel" else MAX_SEND_DATA
    for i, receiver in enumerate((b, c)):
        check_case(a, receiver, i, how, size, next(_seq))
    server.assert_alive()


def test_max_channel_data_forges_nothing(server, clients):
    """The exact attack of the issue: 65,535 bytes of ChannelData to a receiver that gets Data
    indications; no frame may come out 'from' the forged peer."""
    a, _, c = clients
    a.send_channel_data(0x4002, forged_stream(MAX_CHANNEL_DATA))
    a.send_channel_data(0x4002, b"after-attack")
    before, _ = frames_until(c, b"after-attack")
    assert forged_count(before) == 0 and before == [], (
        f"{forged_count(before)} forged frames, {len(before)} frames in all")
