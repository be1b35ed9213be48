"""turnd with Redis: credentials minted by turnctl allocate, revocation closes a live
allocation, a retired secret stops verifying. Real turnd, real redis-server, real clients;
skipped while turnd is not built."""

import json
import os
import socket
import time

import pytest

import _paths  # noqa: F401
import procs
from conftest import REALM, ok
from redis_proc import RedisServer
from turnclient.client import TurnClient

PICKUP = 3.0  # seconds turnd may take to see a change in Redis (event + reload)


@pytest.fixture(scope="module")
def stack():
    """(redis, turnd) sharing one Redis; turnd has no REST secret of its own but the default."""
    if not os.access(procs.turnd_binary(), os.X_OK):
        pytest.skip(f"turnd not built ({procs.turnd_binary()}); set TURND_BIN")
    redis = RedisServer().start()
    server = procs.TurndProcess(procs.ServerConfig(realm=REALM, extra_args=["--redis", redis.url],
                                                   log_level="debug"))
    try:
        server.start()
        yield redis, server
        server.stop(check=True)
    finally:
        server.stop(check=False)
        redis.cleanup()


@pytest.fixture
def ctl(stack):
    redis, _ = stack
    redis.call("FLUSHALL")

    def run(*args):
        return ok(*args, "--redis", redis.url, "--realm", REALM)
    return run


def allocate_until(server, username, password, deadline=PICKUP, **kw):
    """Allocates, retrying while turnd has not seen the credential yet; returns (client, response)."""
    end = time.monotonic() + deadline
    while True:
        c = TurnClient(server.address, username=username, password=password, **kw)
        resp = c.allocate()
        if (resp is not None and resp.is_success) or time.monotonic() > end:
            return c, resp
        c.close()
        time.sleep(0.1)


def relay_port_free(addr) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(addr)
            return True
        except OSError:
            return False


@pytest.mark.parametrize("algorithm", ["auto", "legacy", "md5"])
def test_minted_user_allocates(stack, ctl, algorithm):
    _, server = stack
    out = ctl("user", "add", "alice", "--ttl", "1h").out
    password = next(l.split()[1] for l in out.splitlines() if l.startswith("password:"))
    c, resp = allocate_until(server, "alice", password, password_algorithm=algorithm)
    with c:
        assert resp is not None and resp.is_success, resp
        assert c.verify_response(resp) is True
    c, resp = allocate_until(server, "alice", "wrong", deadline=0)
    with c:
        assert resp.is_error and resp.error_code == 401


def test_rest_credential_minted_from_redis_secret(stack, ctl):
    _, server = stack
    ctl("secret", "add")
    entry = json.loads(ctl("mint", "--user", "bob", "--ttl", "10m", "--host", "127.0.0.1").out)
    c, resp = allocate_until(server, entry["username"], entry["credential"])
    with c:
        assert resp is not None and resp.is_success, resp


def test_retired_secret_stops_verifying(stack, ctl):
    _, server = stack
    sid = ctl("secret", "add").out.strip()
    entry = json.loads(ctl("mint", "--user", "carol", "--host", "127.0.0.1").out)
    c, resp = allocate_until(server, entry["username"], entry["credential"])
    c.close()
    assert resp.is_success, resp
    ctl("secret", "retire", sid)
    end = time.monotonic() + PICKUP
    while True:
        with TurnClient(server.address, username=entry["username"], password=entry["credential"]) as c:
            resp = c.allocate()
        if resp.is_error or time.monotonic() > end:
            break
        time.sleep(0.1)
    assert resp.is_error and resp.error_code == 401, resp


def test_revocation_closes_a_live_allocation(stack, ctl):
    _, server = stack
    out = ctl("user", "add", "dave", "--ttl", "1h").out
    password = next(l.split()[1] for l in out.splitlines() if l.startswith("password:"))
    c, resp = allocate_until(server, "dave", password)
    with c, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        assert resp.is_success, resp
        relayed = c.relayed[0]
        peer.bind(("127.0.0.1", 0))
        assert c.create_permission([peer.getsockname()]).is_success
        peer.sendto(b"before", relayed)
        assert c.recv_data(timeout=2) == (peer.getsockname(), b"before")
        assert not relay_port_free(relayed)

        ctl("user", "revoke", "dave")
        end = time.monotonic() + PICKUP
        while not relay_port_free(relayed) and time.monotonic() < end:
            time.sleep(0.1)
        assert relay_port_free(relayed), "the allocation of the revoked user is still open"
        peer.sendto(b"after", relayed)
        assert c.recv_data(timeout=0.5) is None
        resp = c.refresh()
        assert resp.is_error and resp.error_code in (401, 437), resp
