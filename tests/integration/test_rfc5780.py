"""RFC 5780 NAT behaviour discovery on the server side (issue 14): turnd on 127.0.0.1:P1 with
--alternate-listen 127.0.0.2:P2 answers Binding on all four of 127.0.0.{1,2}:{P1,P2} with
RESPONSE-ORIGIN and OTHER-ADDRESS; CHANGE-REQUEST answers from the other IP and/or port (checked
with the UDP source recvfrom reports, not only RESPONSE-ORIGIN), RESPONSE-PORT to another port,
PADDING pads within the anti-amplification cap. Without an alternate, or where it is not
served, those attributes get 420; one IP gives change port only. The alternate addresses answer
Binding only. Replies to spoofable sources stay within the per-source limit (--limit-loopback).
"""

import socket
import struct
import time
import urllib.request

import pytest

import _paths  # noqa: F401
import procs
from conftest import SERVER_KIND, start_server, stop_server
from turnclient import codec
from turnclient.codec import Attr, AttrType, Message

pytestmark = pytest.mark.skipif(SERVER_KIND != "turnd", reason="turnd's --alternate-listen")

IP1, IP2 = "127.0.0.1", "127.0.0.2"
CHANGE_IP, CHANGE_PORT = 0x4, 0x2
QUIET = 0.3  # how long an answer that must not come is waited for


def change_request(flags: int) -> Attr:
    return Attr(AttrType.CHANGE_REQUEST, struct.pack("!I", flags))


def response_port(port: int) -> Attr:
    return Attr(AttrType.RESPONSE_PORT, struct.pack("!HH", port, 0))


def padding(n: int) -> Attr:
    return Attr(AttrType.PADDING, b"\xab" * n)


def address(msg: Message, t: int):
    v = msg.get(t)
    return None if v is None else codec.decode_address(v)


class Udp:
    """An unconnected UDP socket: recvfrom tells which server address an answer came from."""

    def __init__(self, ip=IP1, port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.address = self.sock.getsockname()

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, to, attrs=(), method=codec.BINDING, cookie=codec.MAGIC_COOKIE) -> Message:
        req = Message(method, codec.REQUEST, attrs=list(attrs), cookie=cookie)
        self.sock.sendto(req.encode(fingerprint=True), to)
        return req

    def recv(self, timeout=2.0):
        """(message, source address) or (None, None)."""
        self.sock.settimeout(timeout)
        try:
            data, src = self.sock.recvfrom(65536)
        except socket.timeout:
            return None, None
        return Message.decode(data), src

    def ask(self, to, attrs=(), timeout=2.0, tries=3, **kw):
        """One request, retransmitted (new transaction) on loss: (request, answer, source)."""
        for _ in range(tries):
            req = self.send(to, attrs, **kw)
            deadline = time.monotonic() + timeout / tries
            while time.monotonic() < deadline:
                msg, src = self.recv(max(0.01, deadline - time.monotonic()))
                if msg is not None and msg.tid == req.tid:
                    return req, msg, src
        return None, None, None


def four(p1, p2):
    """The four addresses by role: (primary, other IP, other port, other IP and port)."""
    return [(IP1, p1), (IP2, p1), (IP1, p2), (IP2, p2)]


def opposite(role: int) -> int:
    return role ^ 3


def start(threads, alternate_ip=None, extra=()):
    """turnd on IP1:P1, with --alternate-listen ALTERNATE_IP:P2 unless alternate_ip is None.
    Two free ports taken one after the other differ."""
    p1, p2 = procs.free_port(), procs.free_port()
    args = list(extra) + (["--alternate-listen", f"{alternate_ip}:{p2}"] if alternate_ip else [])
    s = start_server(procs.ServerConfig(threads=threads, listen=[(IP1, p1)], users=[("u", "p")],
                                        extra_args=args))
    s.p1, s.p2 = p1, p2
    s.addresses = four(p1, p2)
    return s


@pytest.fixture(scope="module")
def server(threads):
    s = start(threads, IP2)
    yield s
    stop_server(s)


# --- the four addresses ----------------------------------------------------------------------

@pytest.mark.parametrize("role", [0, 1, 2, 3])
def test_binding_names_origin_and_other_address(server, role):
    """RFC 5780 §6.1: XOR-MAPPED-ADDRESS and MAPPED-ADDRESS, RESPONSE-ORIGIN (where the answer
    left from) and OTHER-ADDRESS (the address differing in IP and port), on each of the four."""
    to = server.addresses[role]
    with Udp() as c:
        req, resp, src = c.ask(to)
        assert resp is not None and resp.is_success, f"no Binding answer from {to}: {resp}"
        assert src == to
        assert resp.xor_mapped_address == c.address
        assert resp.mapped_address == c.address
        assert address(resp, AttrType.RESPONSE_ORIGIN) == to
        assert address(resp, AttrType.OTHER_ADDRESS) == server.addresses[opposite(role)]
        assert resp.check_fingerprint()


@pytest.mark.parametrize("role", [0, 3])
@pytest.mark.parametrize("flags,flip", [(0, 0), (CHANGE_IP, 1), (CHANGE_PORT, 2),
                                        (CHANGE_IP | CHANGE_PORT, 3)],
                         ids=["none", "ip", "port", "ip_port"])
def test_change_request_answers_from_the_other_address(server, role, flags, flip):
    """RFC 5780 §6.1 Table 1: the answer leaves from the other IP and/or port; the UDP source
    of the datagram says so, and RESPONSE-ORIGIN agrees."""
    to = server.addresses[role]
    expected = server.addresses[role ^ flip]
    with Udp() as c:
        req, resp, src = c.ask(to, [change_request(flags)])
        assert resp is not None and resp.is_success, f"CHANGE-REQUEST {flags:#x} to {to}: {resp}"
        assert src == expected, f"answer came from {src}, expected {expected}"
        assert address(resp, AttrType.RESPONSE_ORIGIN) == expected
        assert address(resp, AttrType.OTHER_ADDRESS) == server.addresses[opposite(role)]
        assert resp.xor_mapped_address == c.address


def test_response_port_goes_to_the_other_port(server):
    """RFC 5780 §7.5: the answer goes to the request's source IP and the RESPONSE-PORT port."""
    with Udp() as a, Udp() as b:
        req = a.send(server.addresses[0], [response_port(b.address[1])])
        resp, src = b.recv()
        assert resp is not None and resp.tid == req.tid, "no answer on the RESPONSE-PORT socket"
        assert src == server.addresses[0]
        assert resp.xor_mapped_address == a.address  # still the request's source
        assert a.recv(QUIET)[0] is None, "answer also sent to the request's own port"
        # with a change of address too: from IP2:P2 to b
        req = a.send(server.addresses[0], [response_port(b.address[1]),
                                           change_request(CHANGE_IP | CHANGE_PORT)])
        resp, src = b.recv()
        assert resp is not None and resp.tid == req.tid
        assert src == server.addresses[3]


def test_rfc3489_client_gets_source_and_changed_address(server):
    """A classic STUN client (RFC 3489, no magic cookie) doing the same tests reads
    MAPPED-ADDRESS, SOURCE-ADDRESS and CHANGED-ADDRESS, as coturn sends them."""
    with Udp() as c:
        req, resp, src = c.ask(server.addresses[0], [change_request(CHANGE_PORT)],
                               cookie=0x01020304)
        assert resp is not None and resp.is_success, str(resp)
        assert resp.cookie == req.cookie and resp.tid == req.tid
        assert src == server.addresses[2]
        assert resp.mapped_address == c.address
        assert address(resp, AttrType.SOURCE_ADDRESS) == server.addresses[2]
        assert address(resp, AttrType.CHANGED_ADDRESS) == server.addresses[3]


# --- PADDING ---------------------------------------------------------------------------------

def plain_size(server):
    with Udp() as c:
        _, resp, _ = c.ask(server.addresses[0])
        return len(resp.raw)


@pytest.mark.parametrize("n", [0, 4, 37, 200, 1500, 1800])
def test_padding_is_capped_by_the_request(server, n):
    """RFC 5780 §6.1: PADDING in the request, PADDING in the answer: as long as the MTU (1500)
    at most, and never growing the answer by more than the request's own size."""
    plain = plain_size(server)
    with Udp() as c:
        req, resp, src = c.ask(server.addresses[0], [padding(n)])
        assert resp is not None and resp.is_success, str(resp)
        pad = resp.get(AttrType.PADDING)
        assert pad is not None, "no PADDING in the answer"
        request_size = len(req.encode(fingerprint=True))
        assert len(pad) <= 1500 and len(pad) % 4 == 0
        assert len(resp.raw) - plain <= request_size
        assert len(pad) == min(1500, (request_size - 4) // 4 * 4)


def test_huge_padding_is_dropped_not_amplified(server):
    """A datagram past the 2 KiB receive slot is dropped unread (no answer), and the server
    goes on answering."""
    with Udp() as c:
        c.send(server.addresses[0], [padding(8000)])
        assert c.recv(QUIET)[0] is None
        _, resp, _ = c.ask(server.addresses[0])
        assert resp is not None and resp.is_success


@pytest.mark.parametrize("attrs,why", [
    ([padding(8), response_port(40000)], "PADDING and RESPONSE-PORT together (RFC 5780 §6.1)"),
    ([response_port(0)], "RESPONSE-PORT 0"),
    ([Attr(AttrType.RESPONSE_PORT, b"\x9c\x40")], "RESPONSE-PORT of 2 bytes"),
    ([Attr(AttrType.CHANGE_REQUEST, b"\x06")], "CHANGE-REQUEST of 1 byte"),
], ids=["padding_and_response_port", "response_port_0", "response_port_short",
        "change_request_short"])
def test_bad_rfc5780_requests_get_400(server, attrs, why):
    with Udp() as c:
        _, resp, src = c.ask(server.addresses[0], attrs)
        assert resp is not None and resp.is_error, f"{why}: {resp}"
        assert resp.error_code == 400, why
        assert src == server.addresses[0]


# --- TCP and TURN on the alternate addresses -------------------------------------------------

def tcp_binding(to, attrs=()):
    with socket.create_connection(to, timeout=3) as s:
        req = Message(codec.BINDING, codec.REQUEST, attrs=list(attrs))
        s.sendall(req.encode(fingerprint=True))
        framer = codec.StreamFramer()
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            data = s.recv(4096)
            if not data:
                return None, s.getsockname()
            framer.feed(data)
            frame = framer.next_frame()
            if frame is not None and frame[0] == "stun":
                return Message.decode(frame[1]), s.getsockname()
    return None, None


@pytest.mark.parametrize("role", [0, 1, 2, 3])
def test_tcp_binding_names_other_address(server, role):
    """Over TCP the mapping tests work too (RFC 5780 §4.3 over TCP): every one of the four
    accepts connections and names RESPONSE-ORIGIN and OTHER-ADDRESS."""
    to = server.addresses[role]
    resp, local = tcp_binding(to)
    assert resp is not None and resp.is_success, str(resp)
    assert resp.xor_mapped_address == local
    assert address(resp, AttrType.RESPONSE_ORIGIN) == to
    assert address(resp, AttrType.OTHER_ADDRESS) == server.addresses[opposite(role)]


@pytest.mark.parametrize("attrs", [[change_request(CHANGE_IP)], [response_port(40000)],
                                   [padding(8)]], ids=["change_ip", "response_port", "padding"])
def test_tcp_cannot_change_or_pad(server, attrs):
    """A connection answers only on itself: 400, as coturn answers."""
    resp, _ = tcp_binding(server.addresses[0], attrs)
    assert resp is not None and resp.error_code == 400, str(resp)


def test_tcp_empty_change_request_is_fine(server):
    resp, local = tcp_binding(server.addresses[0], [change_request(0)])
    assert resp is not None and resp.is_success, str(resp)


@pytest.mark.parametrize("role", [1, 2, 3])
def test_alternate_addresses_answer_binding_only(server, role):
    """Allocate on an alternate address is a 400; on the listen address it is challenged."""
    with Udp() as c:
        attrs = [Attr(AttrType.REQUESTED_TRANSPORT, codec.encode_requested_transport())]
        _, resp, _ = c.ask(server.addresses[role], attrs, method=codec.ALLOCATE)
        assert resp is not None and resp.error_code == 400, str(resp)
        _, resp, _ = c.ask(server.addresses[0], attrs, method=codec.ALLOCATE)
        assert resp is not None and resp.error_code == 401, str(resp)


def test_rfc5780_attributes_in_other_methods_get_420(server):
    with Udp() as c:
        attrs = [Attr(AttrType.REQUESTED_TRANSPORT, codec.encode_requested_transport()),
                 change_request(CHANGE_IP)]
        _, resp, _ = c.ask(server.addresses[0], attrs, method=codec.ALLOCATE)
        assert resp is not None and resp.error_code == 420, str(resp)
        assert resp.unknown_attributes == [AttrType.CHANGE_REQUEST]


# --- without an alternate, and change port only ----------------------------------------------

@pytest.fixture(scope="module")
def plain_server(threads):
    s = start(threads)
    yield s
    stop_server(s)


@pytest.mark.parametrize("attrs,unknown", [
    ([change_request(CHANGE_IP)], [AttrType.CHANGE_REQUEST]),
    ([change_request(CHANGE_PORT)], [AttrType.CHANGE_REQUEST]),
    ([response_port(40000)], [AttrType.RESPONSE_PORT]),
    ([padding(8)], [AttrType.PADDING]),
    ([padding(8), change_request(CHANGE_IP | CHANGE_PORT)],
     [AttrType.PADDING, AttrType.CHANGE_REQUEST]),
], ids=["change_ip", "change_port", "response_port", "padding", "padding_and_change"])
def test_without_alternate_rfc5780_attributes_get_420(plain_server, attrs, unknown):
    """RFC 5780 §6.1: no alternate address, 420 with UNKNOWN-ATTRIBUTES naming them."""
    with Udp() as c:
        _, resp, _ = c.ask((IP1, plain_server.p1), attrs)
        assert resp is not None and resp.error_code == 420, str(resp)
        assert resp.unknown_attributes == unknown


def test_without_alternate_plain_binding_is_unchanged(plain_server):
    """No RFC 5780 attributes; an empty CHANGE-REQUEST (JSTUN-style clients) is answered."""
    with Udp() as c:
        for attrs in ([], [change_request(0)]):
            _, resp, src = c.ask((IP1, plain_server.p1), attrs)
            assert resp is not None and resp.is_success, str(resp)
            assert not resp.has(AttrType.OTHER_ADDRESS)
            assert not resp.has(AttrType.RESPONSE_ORIGIN)
            assert resp.xor_mapped_address == c.address


@pytest.fixture(scope="module")
def port_only_server(threads):
    s = start(threads, IP1)
    yield s
    stop_server(s)


def test_change_port_only(port_only_server):
    """One IP, two ports: change port works; change IP gets 420 naming CHANGE-REQUEST (RFC
    5780 §6.1); no OTHER-ADDRESS (RFC 5780 §6: a server without two IPs MUST NOT send it)."""
    s = port_only_server
    primary, other = (IP1, s.p1), (IP1, s.p2)
    with Udp() as c:
        _, resp, src = c.ask(primary, [change_request(CHANGE_PORT)])
        assert resp is not None and resp.is_success, str(resp)
        assert src == other
        assert address(resp, AttrType.RESPONSE_ORIGIN) == other
        assert not resp.has(AttrType.OTHER_ADDRESS)
        _, resp, src = c.ask(other, [change_request(CHANGE_PORT)])
        assert resp is not None and src == primary
        for flags in (CHANGE_IP, CHANGE_IP | CHANGE_PORT):
            _, resp, src = c.ask(primary, [change_request(flags)])
            assert resp is not None and resp.error_code == 420, str(resp)
            assert resp.unknown_attributes == [AttrType.CHANGE_REQUEST]
            assert src == primary


# --- limits ----------------------------------------------------------------------------------

RATE = 10  # --max-unauthenticated-per-second: bursts of 2 * RATE


@pytest.fixture(scope="module")
def limited_server(threads):
    admin = procs.free_port("tcp")
    s = start(threads, IP2, extra=["--limit-loopback", "--max-unauthenticated-per-second",
                                   str(RATE), "--admin-listen", f"127.0.0.1:{admin}"])
    s.admin = admin
    yield s
    stop_server(s)


def metrics(port) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def flood(c: Udp, to, attrs, n=300):
    """Sends n requests at once; counts the answers that arrive (on c) within a short while."""
    for _ in range(n):
        c.send(to, attrs)
    got = 0
    for _ in range(n):
        msg, _ = c.recv(0.3)
        if msg is None:
            break
        got += 1
    return got


@pytest.mark.parametrize("attrs", [[change_request(CHANGE_IP | CHANGE_PORT)],
                                   [change_request(CHANGE_PORT)], [padding(64)]],
                         ids=["change_ip_port", "change_port", "padding"])
def test_flood_from_one_source_is_limited(limited_server, attrs):
    """300 RFC 5780 requests at once from one (spoofable) source: no more answers than the
    per-source GCRA's burst (2 x rate) plus what it refills meanwhile."""
    time.sleep(2 * 2 / RATE + 0.5)  # let the bucket refill from the previous test
    with Udp() as c:
        got = flood(c, limited_server.addresses[0], attrs)
    assert 1 <= got <= 2 * RATE + 10, f"{got} answers to 300 requests"


def test_response_port_flood_is_limited(limited_server):
    """RESPONSE-PORT reflects to another port of the source IP: limited like the rest, even
    though the answer is not larger than a padded request."""
    time.sleep(2 * 2 / RATE + 0.5)
    with Udp() as a, Udp() as b:
        for _ in range(300):
            a.send(limited_server.addresses[0], [response_port(b.address[1])])
        got = 0
        for _ in range(300):
            if b.recv(0.3)[0] is None:
                break
            got += 1
    assert 1 <= got <= 2 * RATE + 10, f"{got} answers to 300 requests"


def test_metrics_count_nat_discovery_replies(limited_server):
    time.sleep(2 * 2 / RATE + 0.5)
    before = metrics(limited_server.admin)
    with Udp() as c:
        for flags in (0, CHANGE_IP, CHANGE_PORT, CHANGE_IP | CHANGE_PORT):
            _, resp, _ = c.ask(limited_server.addresses[0], [change_request(flags)])
            assert resp is not None and resp.is_success
    after = metrics(limited_server.admin)
    for kind in ("plain", "change_ip", "change_port", "change_ip_port"):
        name = f'turnd_nat_discovery_replies_total{{kind="{kind}"}}'
        assert metric(after, name) - metric(before, name) >= 1, name
