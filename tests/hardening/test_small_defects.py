"""Issue 9, defect 8, the parts visible from outside: the user quota keyed on the REST user
part, ChannelBind bounded by max_permissions_per_allocation, a Redis URL that --check-config
accepted and then ended turnd in std::terminate, and a REST expiry near INT64_MAX."""

import base64
import hashlib
import hmac
import subprocess

import pytest

import _paths  # noqa: F401
import procs
from conftest import require_server_binary, start_server, stop_server
from turnclient.client import TurnClient, rest_credentials

pytestmark = pytest.mark.turn

SECRET = "quota-secret"


@pytest.fixture
def rest_server(threads, server_factory):
    return server_factory(procs.ServerConfig(
        threads=threads, secrets=[SECRET], user_quota=1,
        config_yaml="limits:\n  max_permissions_per_allocation: 4\n"))


@pytest.fixture(scope="module")
def plain_rest_server(threads):
    s = start_server(procs.ServerConfig(threads=threads, secrets=[SECRET]))
    yield s
    stop_server(s)


def allocate(server, username, password):
    c = TurnClient(server.address, "udp", username=username, password=password)
    return c, c.allocate()


def test_user_quota_counts_the_user_not_the_credential(rest_server):
    u1, p1 = rest_credentials(SECRET, "dave", ttl=3600)
    u2, p2 = rest_credentials(SECRET, "dave", ttl=3700)  # a fresh credential, same user
    c1, r1 = allocate(rest_server, u1, p1)
    c2, r2 = allocate(rest_server, u1, p1)
    c3, r3 = allocate(rest_server, u2, p2)
    c4, r4 = allocate(rest_server, *rest_credentials(SECRET, "erin", ttl=3600))
    try:
        assert r1.is_success, r1
        assert r2.error_code == 486, r2
        assert r3.error_code == 486, f"a second credential of 'dave' got a fresh quota: {r3}"
        assert r4.is_success, r4  # another user is not affected
        assert c1.refresh(lifetime=0).is_success
        c5, r5 = allocate(rest_server, u2, p2)  # the slot is back once dave's allocation is gone
        assert r5.is_success, r5
        c5.close()
    finally:
        for c in (c1, c2, c3, c4):
            c.close()


def test_channel_bind_respects_the_permission_cap(rest_server):
    c, r = allocate(rest_server, *rest_credentials(SECRET, "frank"))
    with c:
        assert r.is_success, r
        peers = [(f"127.0.0.{i}", 5000) for i in range(2, 6)]
        assert c.create_permission(peers).is_success  # 4 = the cap
        resp = c.channel_bind(0x4001, ("127.0.0.9", 5000))  # would be a fifth permission
        assert resp.error_code == 508, f"ChannelBind installed a permission past the cap: {resp}"
        assert c.channel_bind(0x4002, peers[0]).is_success  # an existing permission is fine
        assert c.create_permission([("127.0.0.10", 1)]).error_code == 508


def run_turnd(*args, timeout=10):
    require_server_binary()
    return subprocess.run([procs.turnd_binary(), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("url", ["redis://127.0.0.1/2000000", "redis://127.0.0.1:6379/4294967296",
                                 "redis://127.0.0.1:99999/0", "redis://:@/0"])
def test_check_config_refuses_a_bad_redis_url(url):
    p = run_turnd("--check-config", "--redis", url)
    assert p.returncode == 1 or p.returncode == 2, f"--check-config accepted {url}: {p}"
    assert "terminate called" not in p.stderr and "redis" in (p.stdout + p.stderr).lower(), p


def test_bad_redis_url_at_start_is_a_config_error(threads):
    port = procs.free_port()
    try:
        p = run_turnd("--redis", "redis://127.0.0.1/2000000", "--listen", f"127.0.0.1:{port}",
                      "--threads", str(threads), "--realm", "r", timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("turnd started with redis://127.0.0.1/2000000 instead of refusing it")
    assert p.returncode > 0, f"exit status {p.returncode} (a signal is a crash): {p.stderr}"
    assert "terminate called" not in p.stderr, p.stderr


@pytest.mark.parametrize("expiry", ["9223372036854775807", "9223372036854775806",
                                    "9223372036854775808", "18446744073709551615",
                                    "-9223372036854775808", "99999999999999999999999"])
def test_rest_expiry_near_int64_max_is_refused(plain_rest_server, expiry):
    s = plain_rest_server
    user = f"{expiry}:mallory"
    pw = base64.b64encode(hmac.new(SECRET.encode(), user.encode(), hashlib.sha1).digest()).decode()
    c, r = allocate(s, user, pw)
    with c:
        assert r is not None, "no answer (crashed?)"
        assert r.error_code == 401, f"expiry {expiry}: {r}"
    s.assert_alive()
