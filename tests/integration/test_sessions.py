"""The sessions API of the admin listener (GET /api/v1/allocations lists, DELETE
/api/v1/allocations?user=NAME kicks) and `turnctl sessions` / `turnctl kick` over it, against a
real turnd with real TURN clients. With TURND_THREADS=2 every request asks both shards: the
clients' many source ports spread their allocations over the shards (SO_REUSEPORT).
turnd only: coturn has no such API."""

import base64
import hashlib
import hmac
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import _paths  # noqa: F401
import procs
from conftest import SERVER_KIND, start_server, stop_server, turnctl_binary
from test_logs import RawUserClient  # a USERNAME of raw bytes
from turnclient import TurnClient, rest_credentials

pytestmark = pytest.mark.skipif(SERVER_KIND != "turnd", reason="turnd's admin listener")

SECRET = "sessions-test-secret"
API_KEY = "k-sessions-0123456789"
PATH = "/api/v1/allocations"


def call(port, path, method="GET", key=API_KEY, how="header"):
    """(status, headers, body) of one admin request; key None sends none."""
    headers = {}
    if key is not None and how == "header":
        headers["Authorization"] = "Bearer " + key
    elif key is not None:
        path += ("&" if "?" in path else "?") + "key=" + key
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def listing(port):
    status, headers, body = call(port, PATH)
    assert status == 200 and headers["Content-Type"].startswith("application/json"), body
    doc = json.loads(body)
    assert doc["count"] == len(doc["allocations"])
    return doc["allocations"]


def find(port, username):
    return [a for a in listing(port) if a["username"] == username]


def addr(a) -> str:
    return procs.fmt_hostport(a[0], a[1])


@pytest.fixture(scope="module")
def server(threads, tmp_path_factory):
    port = procs.free_port("tcp")
    yaml = f"admin:\n  listen: \"127.0.0.1:{port}\"\n  api_key: \"{API_KEY}\"\n"
    s = start_server(procs.ServerConfig(threads=threads, secrets=[SECRET], config_yaml=yaml))
    s.admin_port = port
    # The same admin settings for turnctl, in a file of its own.
    ctl = tmp_path_factory.mktemp("turnctl") / "turnd.yaml"
    ctl.write_text(f"realm: {s.config.realm}\nauth:\n  secrets: [\"{SECRET}\"]\n" + yaml)
    s.ctl_config = str(ctl)
    yield s
    stop_server(s)


def client(server, user, transport="udp"):
    username, password = rest_credentials(SECRET, user)
    c = TurnClient(server.address_for("v4"), transport, username=username, password=password)
    r = c.allocate()
    assert r is not None and r.is_success, r and r.error_code
    return c


def turnctl(*args, config=None, timeout=30):
    cmd = [turnctl_binary()] + (["--config", config] if config else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def peer():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(2)
    yield s
    s.close()


def test_lists_a_live_allocation_with_moving_counters(server, peer):
    c = client(server, "alice")
    try:
        [a] = find(server.admin_port, c.username)
        assert a["user"] == "alice" and a["transport"] == "udp"
        assert a["client"] == addr(c.local_address)
        assert a["relayed"] == [addr(r) for r in c.relayed]
        assert 0 <= a["age_seconds"] <= 5 and 500 <= a["expires_in_seconds"] <= 600
        assert isinstance(a["credential_expires"], int) and a["permissions"] == []
        assert a["to_peer"] == {"packets": 0, "bytes": 0}

        assert c.create_permission([peer.getsockname()]).is_success
        c.send_indication(peer.getsockname(), b"x" * 100)
        data, _ = peer.recvfrom(2048)
        assert data == b"x" * 100
        peer.sendto(b"y" * 40, c.relayed[0])
        assert c.recv_data() is not None
        [a] = find(server.admin_port, c.username)
        assert [p["peer"] for p in a["permissions"]] == ["127.0.0.1"]
        assert a["to_peer"] == {"packets": 1, "bytes": 100}
        assert a["from_peer"] == {"packets": 1, "bytes": 40}

        assert c.channel_bind(0x4001, peer.getsockname()).is_success
        c.send_channel_data(0x4001, b"z" * 10)
        peer.recvfrom(2048)
        [a] = find(server.admin_port, c.username)  # live: no need for the session to end
        assert a["to_peer"] == {"packets": 2, "bytes": 110}
        assert [(ch["number"], ch["peer"]) for ch in a["channels"]] == \
            [(0x4001, addr(peer.getsockname()))]
    finally:
        c.refresh(lifetime=0)
        c.close()
    assert find(server.admin_port, c.username) == []


def test_every_shard_answers(server):
    clients = [client(server, f"many{i}", "udp" if i % 2 else "tcp") for i in range(12)]
    try:
        listed = {a["username"]: a for a in listing(server.admin_port)}
        for c in clients:
            assert c.username in listed
        assert {listed[c.username]["transport"] for c in clients} == {"udp", "tcp"}
    finally:
        for c in clients:
            c.refresh(lifetime=0)
            c.close()


def test_kick_by_rest_user_id_closes_every_allocation_of_the_user(server):
    bobs = [client(server, "bob"), client(server, "bob", "tcp")]
    carol = client(server, "carol")
    try:
        status, _, body = call(server.admin_port, PATH + "?user=bob", "DELETE")
        assert status == 200, body
        assert json.loads(body) == {"user": "bob", "closed": 2}
        for c in bobs:
            r = c.refresh(lifetime=600)
            assert r is not None and r.error_code == 437, r and r.error_code
        assert [a["user"] for a in listing(server.admin_port) if a["user"] in ("bob", "carol")] == ["carol"]
        assert carol.refresh(lifetime=600).is_success
        # The exact USERNAME works too.
        status, _, body = call(server.admin_port, PATH + "?user=" + carol.username.replace(":", "%3A"),
                               "DELETE", how="query")
        assert status == 200 and json.loads(body)["closed"] == 1, body
    finally:
        for c in bobs + [carol]:
            c.close()


def test_kick_of_an_unknown_user_closes_nothing(server):
    c = client(server, "dave")
    try:
        status, _, body = call(server.admin_port, PATH + "?user=nobody", "DELETE")
        assert status == 200 and json.loads(body) == {"user": "nobody", "closed": 0}, body
        assert c.refresh(lifetime=600).is_success
    finally:
        c.refresh(lifetime=0)
        c.close()


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_the_api_key_is_required(server, method):
    c = client(server, "erin")
    try:
        for key, how in ((None, "header"), ("wrong", "header"), ("wrong", "query"),
                         (API_KEY[:-1], "header"), (API_KEY + "x", "query")):
            status, _, body = call(server.admin_port, PATH + "?user=erin", method, key, how)
            assert status == 401, (key, how, body)
            assert "erin" not in body and "allocations" not in body
        assert c.refresh(lifetime=600).is_success  # nothing was closed
        assert call(server.admin_port, PATH + "?user=nobody", method, API_KEY, "query")[0] == 200
    finally:
        c.refresh(lifetime=0)
        c.close()


@pytest.mark.parametrize("query", ["", "?user=", "?user=a%00b", "?user=a%0ab", "?user=%1b%5b2J",
                                   "?user=c1%c2%85", "?user=bad%ff", "?user=" + "x" * 257,
                                   "?user=a&user=b", "?username=a"])
def test_bad_user_is_a_400(server, query):
    status, headers, body = call(server.admin_port, PATH + query, "DELETE")
    assert status == 400, body
    assert headers["Content-Type"].startswith("application/json")
    assert "error" in json.loads(body)


def test_other_methods_are_405_with_allow(server):
    for method in ("PUT", "POST", "PATCH"):
        status, headers, _ = call(server.admin_port, PATH, method)
        assert status == 405 and headers["Allow"] == "GET, DELETE"
    status, headers, _ = call(server.admin_port, "/healthz", "DELETE")
    assert status == 405 and headers["Allow"] == "GET"


def test_a_huge_query_kicks_nobody_and_the_listener_keeps_serving(server):
    c = client(server, "gina")
    try:
        try:
            status = call(server.admin_port, PATH + "?user=" + "a" * 20000, "DELETE")[0]
        except (ConnectionError, urllib.error.URLError):
            status = None  # the parser's header limit: the connection is closed unanswered
        assert status in (None, 400, 431)
        assert call(server.admin_port, "/healthz")[0] == 200
        assert c.refresh(lifetime=600).is_success
    finally:
        c.refresh(lifetime=0)
        c.close()


def test_hostile_usernames_stay_valid_json_and_a_safe_table(server):
    """A REST user id with an escape sequence, a newline and bytes that are not UTF-8: the JSON
    list still parses (invalid bytes as U+FFFD) and turnctl's table shows no raw control."""
    raw = b"evil\x1b[2J\n\xff\xc2\x85"
    username = str(int(time.time()) + 600).encode() + b":" + raw
    password = base64.b64encode(hmac.new(SECRET.encode(), username, hashlib.sha1).digest()).decode()
    with RawUserClient(server.address_for("v4"), "udp", username, password) as c:
        assert c.allocate().is_success
        try:
            [a] = [a for a in listing(server.admin_port) if a["user"].startswith("evil")]
            assert a["user"] == "evil\x1b[2J\n\ufffd\x85"
            r = turnctl("sessions", config=server.ctl_config)
            assert r.returncode == 0, r.stderr
            assert "\x1b" not in r.stdout and "\x85" not in r.stdout
            assert "evil\\x1B[2J\\x0A" in r.stdout, r.stdout
        finally:
            c.refresh(lifetime=0)


def test_turnctl_sessions_and_kick(server, peer):
    c = client(server, "frank")
    try:
        assert c.create_permission([peer.getsockname()]).is_success
        r = turnctl("sessions", config=server.ctl_config)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].split()[:4] == ["USER", "CLIENT", "TRANSPORT", "RELAYED"]
        [row] = [line for line in lines if line.startswith("frank ")]
        assert addr(c.local_address) in row and addr(c.relayed[0]) in row and " udp " in row
        assert lines[-1].endswith("allocation(s)")

        r = turnctl("sessions", "--json", config=server.ctl_config)
        assert r.returncode == 0, r.stderr
        [a] = [a for a in json.loads(r.stdout)["allocations"] if a["user"] == "frank"]
        assert len(a["permissions"]) == 1

        r = turnctl("kick", "frank", config=server.ctl_config)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == 'closed 1 allocation(s) of user "frank"'
        assert c.refresh(lifetime=600).error_code == 437
        r = turnctl("kick", "frank", config=server.ctl_config)
        assert r.returncode == 0 and r.stdout.strip() == 'no allocations of user "frank"'
        # The overrides, without a config that names the admin listener.
        r = turnctl("kick", "frank", "--admin", f"http://127.0.0.1:{server.admin_port}/",
                    "--api-key", API_KEY)
        assert r.returncode == 0, r.stderr
        r = turnctl("sessions", "--admin", f"127.0.0.1:{server.admin_port}", "--api-key", "wrong")
        assert r.returncode == 1 and "401" in r.stderr and "--api-key" in r.stderr, r.stderr
        r = turnctl("kick", "a\x01b", config=server.ctl_config)
        assert r.returncode == 2 and "control characters" in r.stderr, r.stderr
    finally:
        c.close()


def test_turnctl_names_the_key_to_set(tmp_path):
    no_admin = tmp_path / "none.yaml"
    no_admin.write_text("realm: x\n")
    r = turnctl("sessions", config=str(no_admin))
    assert r.returncode == 1 and "admin.listen" in r.stderr, r.stderr
    no_key = tmp_path / "nokey.yaml"
    no_key.write_text("admin:\n  listen: \"127.0.0.1:9\"\n")
    r = turnctl("kick", "bob", config=str(no_key))
    assert r.returncode == 1 and "admin.api_key" in r.stderr, r.stderr


def test_turnctl_says_when_turnd_is_not_running(tmp_path):
    port = procs.free_port("tcp")
    cfg = tmp_path / "down.yaml"
    cfg.write_text(f"admin:\n  listen: \"127.0.0.1:{port}\"\n  api_key: \"{API_KEY}\"\n")
    r = turnctl("sessions", config=str(cfg))
    assert r.returncode == 1, r
    assert f"is turnd running? admin.listen is 127.0.0.1:{port} in {cfg}" in r.stderr, r.stderr


def test_the_api_is_off_without_a_key(server_factory, threads):
    port = procs.free_port("tcp")
    server_factory(procs.ServerConfig(threads=threads, secrets=[SECRET],
                                      config_yaml=f"admin:\n  listen: \"127.0.0.1:{port}\"\n"))
    assert call(port, PATH)[0] == 404
    assert call(port, PATH + "?user=bob", "DELETE")[0] == 405  # as on any path but the API's
