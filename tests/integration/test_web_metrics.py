"""The web listener's /metrics (on the admin listener): turnd_web_requests_total{path,status}
with a bounded label set, turnd_web_refused_total{reason}, turnd_web_credentials_minted_total
and the gauges turnd_web_connections, turnd_web_websockets and turnd_web_rooms. Each test
asserts the deltas its own requests make, on a server of its own (test_web.py's server has
spent its /credentials budget). turnd only."""

import socket
import time

import pytest

import _paths  # noqa: F401
import admin_metrics
import procs
from conftest import SERVER_KIND, stop_server
from test_web import SECRET, Ws, get, room_pair, start_web

pytestmark = pytest.mark.skipif(SERVER_KIND != "turnd", reason="turnd's web listener")

PATHS = {"page", "file", "credentials", "ws", "other"}
STATUSES = {"101", "200", "400", "403", "404", "405", "426", "429", "503", "other"}


def start_web_with_admin(threads):
    admin = procs.free_port("tcp")
    s = start_web(threads, secrets=[SECRET], more_args=["--admin-listen", f"127.0.0.1:{admin}"])
    s.admin_port = admin
    return s


@pytest.fixture(scope="module")
def web(threads):
    s = start_web_with_admin(threads)
    yield s
    stop_server(s)


def scrape(server):
    return admin_metrics.scrape(server.admin_port)


def requests(path, status):
    return f'turnd_web_requests_total{{path="{path}",status="{status}"}}'


def refused(reason):
    return f'turnd_web_refused_total{{reason="{reason}"}}'


def delta(before, after, key):
    return after.get(key, 0) - before.get(key, 0)


def wait_for(server, key, value, timeout=5):
    """Scrapes until `key` is `value` (a gauge going down after a close is seen by the server
    a moment later); returns the last scrape."""
    deadline = time.monotonic() + timeout
    while True:
        m = scrape(server)
        if m.get(key) == value or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


def test_families_are_there_from_the_start(web):
    m = scrape(web)
    for key in ["turnd_web_credentials_minted_total", "turnd_web_connections",
                "turnd_web_websockets", "turnd_web_rooms", refused("per_source"),
                refused("room_full"), refused("oversize_message"), refused("bad_origin")]:
        assert key in m, key


def test_pages_and_unknown_paths(web):
    before = scrape(web)
    assert get(web.web_port, "/call")[0] == 200
    assert get(web.web_port, "/call.js")[0] == 200
    for path in ["/nope", "/../etc/passwd", "/x?y=z"]:
        assert get(web.web_port, path)[0] == 404
    assert get(web.web_port, "/call", method="POST")[0] == 405
    after = scrape(web)
    assert delta(before, after, requests("page", "200")) == 1
    assert delta(before, after, requests("file", "200")) == 1
    assert delta(before, after, requests("other", "404")) == 3
    assert delta(before, after, requests("page", "405")) == 1


def test_unknown_paths_add_no_series(web):
    for i in range(20):
        assert get(web.web_port, f"/random-{i}-{time.monotonic_ns()}?q={i}")[0] == 404
    with socket.create_connection(("127.0.0.1", web.web_port), timeout=5) as s:
        s.sendall(b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n")
        s.recv(4096)
    m = scrape(web)
    series = [k for k in m if k.startswith("turnd_web_requests_total{")]
    assert series and len(series) <= len(PATHS) * len(STATUSES), series
    for key in series:
        labels = dict(kv.split("=") for kv in key[key.index("{") + 1:-1].split(","))
        assert labels["path"].strip('"') in PATHS and labels["status"].strip('"') in STATUSES, key


def test_credentials_minted(web):
    before = scrape(web)
    assert get(web.web_port, "/credentials")[0] == 200
    assert get(web.web_port, "/credentials", method="POST")[0] == 405
    after = scrape(web)
    assert delta(before, after, "turnd_web_credentials_minted_total") == 1
    assert delta(before, after, requests("credentials", "200")) == 1
    assert delta(before, after, requests("credentials", "405")) == 1


def assert_closed(sock):
    """The server closes `sock` (a FIN or a reset) without sending anything."""
    try:
        assert sock.recv(100) == b""
    except ConnectionResetError:
        pass


def assert_closed_unanswered(server, source):
    """One more connection from `source`: closed by the server without an answer."""
    with socket.create_connection(("127.0.0.1", server.web_port), timeout=5,
                                  source_address=(source, 0)) as extra:
        assert_closed(extra)


def test_third_peer_and_gauges_up_and_down(web):
    before = scrape(web)
    assert before["turnd_web_websockets"] == 0 and before["turnd_web_rooms"] == 0
    with room_pair(web.web_port, "metrics-full") as (a, b):
        c = Ws(web.web_port, "/ws?room=metrics-full")
        assert c.recv_close()[0] == 4001
        c.close()
        during = scrape(web)
        assert during["turnd_web_websockets"] >= 2
        assert during["turnd_web_rooms"] == 1
        assert during["turnd_web_connections"] >= 2
        assert delta(before, during, refused("room_full")) == 1
        assert delta(before, during, requests("ws", "101")) == 3
    after = wait_for(web, "turnd_web_websockets", 0)
    assert after["turnd_web_websockets"] == 0
    after = wait_for(web, "turnd_web_connections", 0)
    assert after["turnd_web_connections"] == 0 and after["turnd_web_rooms"] == 0


def hold_then_refuse_one(web, held_sources, extra_source, reason, other_reason):
    """16 connections (WebLimits::connections_per_source) from each of `held_sources`, then
    one from `extra_source`: closed unanswered and counted as `reason` (not `other_reason`);
    the connections gauge follows and goes back to 0."""
    before = scrape(web)
    held = []
    try:
        for src in held_sources:
            for _ in range(16):
                held.append(socket.create_connection(("127.0.0.1", web.web_port), timeout=5,
                                                     source_address=(src, 0)))
        during = wait_for(web, "turnd_web_connections", len(held))
        assert during["turnd_web_connections"] == len(held)
        assert_closed_unanswered(web, extra_source)
        during = scrape(web)
        assert delta(before, during, refused(reason)) == 1
        assert delta(before, during, refused(other_reason)) == 0
    finally:
        for s in held:
            s.close()
    assert wait_for(web, "turnd_web_connections", 0)["turnd_web_connections"] == 0


def test_connections_gauge_and_per_source_refusal(web):
    hold_then_refuse_one(web, ["127.0.0.1"], "127.0.0.1", "per_source", "total")


@pytest.mark.parametrize("message,reason", [
    ('{"type":"offer","sdp":"' + "a" * (17 * 1024) + '"}', "oversize_message"),
    ('{"type":"hello"}', "bad_message")])
def test_refused_messages(web, message, reason):
    before = scrape(web)
    with room_pair(web.web_port, f"metrics-{reason}") as (a, b):
        a.send(message)
        a.recv_close()
        assert b.recv_json() == {"type": "peer-left"}
    after = scrape(web)
    assert delta(before, after, refused(reason)) == 1


def test_bad_origin_and_oversize_request(web):
    before = scrape(web)
    ws = Ws(web.web_port, "/ws?room=origin", origin="https://evil.example")
    assert ws.status == 403
    ws.close()
    with socket.create_connection(("127.0.0.1", web.web_port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 10000 + b"\r\n\r\n")
        try:
            assert b"200 OK" not in s.recv(4096)
        except ConnectionResetError:
            pass
    with socket.create_connection(("127.0.0.1", web.web_port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01\x00\x05hello\r\n\r\n")  # TLS on the plain HTTP port
        try:
            s.recv(4096)
        except ConnectionResetError:
            pass
    after = wait_for(web, "turnd_web_connections", 0)
    assert delta(before, after, refused("bad_origin")) == 1
    assert delta(before, after, requests("ws", "403")) == 1
    assert delta(before, after, refused("oversize_request")) == 1
    assert delta(before, after, refused("bad_request")) == 1


def test_stalled_request_is_a_timeout_an_idle_connection_is_not(web):
    before = scrape(web)
    idle = socket.create_connection(("127.0.0.1", web.web_port), timeout=15)
    stalled = socket.create_connection(("127.0.0.1", web.web_port), timeout=15)
    try:
        stalled.sendall(b"GET / HTTP/1.1\r\nHo")  # and nothing more: closed at the 10 s deadline
        for s in (stalled, idle):
            assert_closed(s)
    finally:
        idle.close()
        stalled.close()
    after = wait_for(web, "turnd_web_connections", 0)
    assert delta(before, after, refused("timeout")) == 1


def test_message_rate(web):
    """A /ws socket past its message budget (100 at once, then 20 a second) is closed (4004)
    and counted as message_rate."""
    before = scrape(web)
    with room_pair(web.web_port, "metrics-flood") as (a, b):
        for _ in range(150):
            a.send('{"type":"candidate","candidate":{}}')
        assert a.recv_close()[0] == 4004
    after = scrape(web)
    assert delta(before, after, refused("message_rate")) == 1


@pytest.fixture
def fresh_web(threads):
    """A server of the test's own: the rate tests spend this source's budgets, and pytest may
    run the module's other tests after them."""
    s = start_web_with_admin(threads)
    yield s
    stop_server(s)


def test_credential_rate(fresh_web):
    """/credentials past 10 a minute per source: 429, counted as credential_rate; only the
    answered ones count as minted."""
    web = fresh_web
    before = scrape(web)
    statuses = [get(web.web_port, "/credentials")[0] for _ in range(12)]
    after = scrape(web)
    assert set(statuses) == {200, 429} and statuses[-1] == 429, statuses
    assert delta(before, after, "turnd_web_credentials_minted_total") == statuses.count(200)
    assert delta(before, after, requests("credentials", "429")) == statuses.count(429)
    assert delta(before, after, refused("credential_rate")) == statuses.count(429)


def test_request_rate(fresh_web):
    """Past 60 requests at once (then 2 a second) from one source: 429, counted as
    request_rate."""
    web = fresh_web
    before = scrape(web)
    statuses = [get(web.web_port, "/")[0] for _ in range(70)]
    after = scrape(web)
    assert statuses.count(429) >= 5, statuses
    assert set(statuses) == {200, 429}, statuses
    assert delta(before, after, refused("request_rate")) == statuses.count(429)
    assert delta(before, after, requests("page", "429")) == statuses.count(429)


def sources(first, count):
    """127.0.0.first, ...: each address may hold WebLimits::connections_per_source (16)."""
    return [f"127.0.0.{first + i}" for i in range(count)]


def test_too_many_rooms_then_too_many_signal_sockets(fresh_web):
    """At most 128 rooms (kMaxRooms): the 129th room's socket is closed with 1013 "try again
    later" (too_many_rooms); with 128 full rooms, 256 /ws sockets (WebLimits::signal_sockets)
    are open and the next upgrade is a 503 (signal_sockets). Sockets come from 16 addresses,
    16 each, within every per-source limit."""
    web = fresh_web
    before = scrape(web)
    firsts, seconds = [], []
    try:
        for i, src in enumerate(s for s in sources(20, 8) for _ in range(16)):
            firsts.append(Ws(web.web_port, f"/ws?room=many-{i}", source=src))
            assert firsts[-1].status == 101 and firsts[-1].recv_json()["peers"] == 1
        assert len(firsts) == 128
        extra = Ws(web.web_port, "/ws?room=many-extra", source="127.0.0.40")
        assert extra.status == 101
        assert extra.recv_close()[0] == 1013, "the 129th room"
        extra.close()
        m = scrape(web)
        assert m["turnd_web_rooms"] == 128
        assert delta(before, m, refused("too_many_rooms")) == 1
        for i, src in enumerate(s for s in sources(30, 8) for _ in range(16)):
            seconds.append(Ws(web.web_port, f"/ws?room=many-{i}", source=src))
            assert seconds[-1].status == 101 and seconds[-1].recv_json()["peers"] == 2
        m = wait_for(web, "turnd_web_websockets", 256)
        assert m["turnd_web_websockets"] == 256
        over = Ws(web.web_port, "/ws?room=many-0", source="127.0.0.41")
        assert over.status == 503, over.headers
        over.close()
        m = scrape(web)
        assert delta(before, m, refused("signal_sockets")) == 1
        assert delta(before, m, requests("ws", "503")) == 1
        assert delta(before, m, refused("room_full")) == 0, "refused before any room is looked at"
    finally:
        for w in firsts + seconds:
            w.close()
    after = wait_for(web, "turnd_web_websockets", 0)
    assert after["turnd_web_websockets"] == 0
    assert wait_for(web, "turnd_web_rooms", 0)["turnd_web_rooms"] == 0


def test_total_connections(fresh_web):
    """512 connections in all (WebLimits::connections) from 32 addresses, 16 each: the 513th,
    from yet another address, is closed unanswered and counted as total."""
    hold_then_refuse_one(fresh_web, sources(50, 32), "127.0.0.90", "total", "per_source")


def test_slow_reader_is_closed_not_buffered(fresh_web):
    """A /ws peer that does not read: what waits for it is capped (WebLimits::queued_bytes,
    256 KiB). Its partner's 15 KB offers fill the kernel's small buffers, then that queue;
    the slow socket is closed and counted as slow_reader, and the sender is not."""
    web = fresh_web
    before = scrape(web)
    a = Ws(web.web_port, "/ws?room=metrics-slow")
    slow = None
    try:
        assert a.status == 101 and a.recv_json()["peers"] == 1
        slow = Ws(web.web_port, "/ws?room=metrics-slow", rcvbuf=4096)
        assert slow.status == 101
        assert a.recv_json() == {"type": "peer-joined"}
        offer = '{"type":"offer","sdp":"' + "v=0 " * 3750 + '"}'
        key = refused("slow_reader")
        # The burst of 100 messages, then 18 a second (under the budget's 20): the kernel's
        # send buffer towards `slow` grows to tcp_wmem's maximum (4 MiB here) before turnd
        # queues anything, so this takes about 10 s. Bounded: 40 s.
        sent, t0 = 0, time.monotonic()
        while time.monotonic() - t0 < 40:
            a.send(offer)
            sent += len(offer)
            if sent // len(offer) > 90:
                time.sleep(1 / 18)
            if sent // len(offer) % 10 == 0 and scrape(web).get(key, 0) > before.get(key, 0):
                break
        after = wait_for(web, key, before.get(key, 0) + 1)
        assert delta(before, after, key) == 1, f"{sent} bytes sent"
        assert sent >= 256 * 1024, "closed before the queue can have been full"
        assert delta(before, after, refused("message_rate")) == 0
        assert a.recv_json(timeout=5) == {"type": "peer-left"}, "the sender stays, told"
    finally:
        a.close()
        if slow:
            slow.close()
