"""Issue 9, defect 5: amplification by unauthenticated UDP replies.

Every reply to an unauthenticated request that is larger than the request (401, 438, 400, 420,
Binding success) is limited per source IP, with one budget shared by all shards: a spoofer that
varies its source port lands on every shard, so the bursts here come from one IP over 32 source
ports. Another source IP still gets answers, and a global cap bounds the reply bytes of all
sources together. The single-request sizes printed under "[figures]" are the amplification
table of docs/RELIABILITY.md."""

import os
import select
import socket
import struct
import time

import pytest

import _paths  # noqa: F401
import procs
from conftest import start_server, stop_server
from hardening_lib import admin_args, flags_if_supported, report, scrape
from turnclient import codec
from turnclient.codec import AttrType, Message

RATE = 500            # default limits.max_unauthenticated_per_second
BURST_ALLOWANCE = 2   # the bucket holds at most this many seconds of RATE
BURST = 3000          # requests per kind from one source IP
PORTS = 32            # source ports per source IP
USERS = [("alice", "alicepw")]


def _tid() -> bytes:
    return os.urandom(12)


def req_401() -> bytes:
    m = Message(codec.ALLOCATE, codec.REQUEST, tid=_tid())
    m.add(AttrType.REQUESTED_TRANSPORT, codec.encode_requested_transport())
    return m.encode()


def req_438() -> bytes:
    """The smallest Allocate that draws a 438: a one-byte username and nonce, with a
    MESSAGE-INTEGRITY (the nonce is not one the server issued)."""
    m = Message(codec.ALLOCATE, codec.REQUEST, tid=_tid())
    m.add(AttrType.REQUESTED_TRANSPORT, codec.encode_requested_transport())
    m.add(AttrType.USERNAME, b"a")
    m.add(AttrType.REALM, b"turnd.test")
    m.add(AttrType.NONCE, b"x")
    return m.encode(key=codec.long_term_key("a", "turnd.test", "x"), integrity="sha1")


def req_400() -> bytes:
    """An Allocate whose attribute runs past the end of the message."""
    return (struct.pack("!HHI", 0x0003, 8, codec.MAGIC_COOKIE) + _tid()
            + struct.pack("!HH", AttrType.REQUESTED_TRANSPORT, 12) + b"\x11\0\0\0")


def req_420() -> bytes:
    m = Message(codec.BINDING, codec.REQUEST, tid=_tid())
    m.add(0x0030, b"")  # an unknown comprehension-required attribute
    return m.encode()


def req_binding() -> bytes:
    return Message(codec.BINDING, codec.REQUEST, tid=_tid()).encode()


KINDS = {"401": req_401, "438": req_438, "400": req_400, "420": req_420, "binding": req_binding}
EXPECTED_CODE = {"401": 401, "438": 438, "400": 400, "420": 420, "binding": None}


class Source:
    """PORTS UDP sockets on one source IP."""

    def __init__(self, ip: str, ports: int = PORTS):
        self.socks = []
        for _ in range(ports):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((ip, 0))
            s.setblocking(False)
            self.socks.append(s)

    def close(self):
        for s in self.socks:
            s.close()

    def burst(self, server, make, count: int, quiet: float = 0.4, cap: float = 3.0):
        """Sends count requests round-robin over the ports; returns (replies, reply bytes,
        request bytes, seconds from first send to last reply)."""
        t0 = time.monotonic()
        sent_bytes = 0
        for i in range(count):
            data = make()
            try:
                self.socks[i % len(self.socks)].sendto(data, server)
                sent_bytes += len(data)
            except BlockingIOError:
                pass
        replies, reply_bytes, last = 0, 0, time.monotonic()
        end = t0 + cap
        while time.monotonic() < end:
            r, _, _ = select.select(self.socks, [], [], quiet)
            if not r:
                break
            for s in r:
                for _ in range(64):
                    try:
                        data = s.recv(65536)
                    except BlockingIOError:
                        break
                    replies += 1
                    reply_bytes += len(data)
                    last = time.monotonic()
        return replies, reply_bytes, sent_bytes, max(0.001, last - t0)


def one_exchange(server, make):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.200", 0))
        s.settimeout(2)
        data = make()
        s.sendto(data, server)
        reply = s.recv(65536)
        return data, reply


@pytest.fixture(scope="module")
def server(threads):
    admin = procs.free_port("tcp")
    s = start_server(procs.ServerConfig(threads=threads, users=USERS,
                                        extra_args=admin_args(admin)))
    s.admin = admin
    yield s
    stop_server(s)


def test_reply_sizes_and_codes(server):
    """The amplification table: one request of each kind from a fresh source."""
    rows = []
    for kind, make in KINDS.items():
        req, reply = one_exchange(server.address_for("v4"), make)
        m = Message.decode(reply)
        assert m.error_code == EXPECTED_CODE[kind], f"{kind}: {m}"
        rows.append(f"{kind:8} request {len(req):3} B  reply {len(reply):3} B  "
                    f"factor {len(reply) / len(req):.1f}")
        time.sleep(0.01)
    report(f"amplification per reply kind (threads={server.config.threads})", rows)


@pytest.mark.parametrize("kind", list(KINDS))
def test_one_source_is_capped_across_shards(server, kind):
    ip_index = list(KINDS).index(kind)
    src = Source(f"127.0.0.{10 + ip_index}")
    other = Source(f"127.0.0.{60 + ip_index}", ports=4)
    try:
        replies, rbytes, qbytes, window = src.burst(server.address_for("v4"), KINDS[kind], BURST)
        limit = (BURST_ALLOWANCE + window) * RATE
        fresh, _, _, _ = other.burst(server.address_for("v4"), KINDS[kind], 50)
    finally:
        src.close()
        other.close()
    m = scrape(server.admin)
    report(f"burst of {kind} from one IP over {PORTS} ports (threads={server.config.threads})",
           [f"sent {BURST} ({qbytes} B), got {replies} replies ({rbytes} B, "
            f"{rbytes / max(1, qbytes):.2f}x the request bytes) in {window:.2f}s; "
            f"limit {limit:.0f}; another source got {fresh}/50",
            "limited_total " + str({k: v for k, v in m.items() if "limited" in k})])
    assert replies <= limit * 1.1, (
        f"{replies} {kind} replies to one source IP in {window:.2f}s (limit ~{limit:.0f})")
    assert fresh >= 45, f"another source IP got only {fresh}/50 {kind} replies"
    assert m.get('turnd_unauthenticated_limited_total{scope="source"}', 0) > 0, m


def test_global_reply_byte_cap(threads, server_factory):
    cap = 20000
    admin = procs.free_port("tcp")
    s = server_factory(procs.ServerConfig(
        threads=threads, users=USERS, extra_args=admin_args(admin) + flags_if_supported(
            ("--max-unauthenticated-bytes-per-second", cap))))
    sources = [Source(f"127.0.1.{i + 1}", ports=2) for i in range(40)]
    total_replies = total_bytes = 0
    t0 = time.monotonic()
    try:
        for src in sources:  # 50 each: well under the per-source limit
            r, b, _, _ = src.burst(s.address_for("v4"), req_401, 50, quiet=0.05, cap=0.5)
            total_replies += r
            total_bytes += b
    finally:
        for src in sources:
            src.close()
    window = time.monotonic() - t0
    allowed = cap * (BURST_ALLOWANCE + window)
    m = scrape(admin)
    report(f"global cap {cap} B/s (threads={threads})",
           [f"40 sources x 50 unauthenticated Allocates: {total_replies} replies, "
            f"{total_bytes} B in {window:.2f}s (allowed ~{allowed:.0f} B)"])
    assert total_bytes <= allowed * 1.1, f"{total_bytes} B of replies in {window:.2f}s"
    assert m.get('turnd_unauthenticated_limited_total{scope="global"}', 0) > 0, m
