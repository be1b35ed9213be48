"""turnd keeps relaying and authenticating from its cached snapshot when Redis dies, says so in
its metrics, and picks Redis up again after a restart; a minted credential's expiry is
enforced; python3-aioice relays with credentials minted by turnctl. Real turnd, real
redis-server (killed and restarted by the test), real clients."""

import asyncio
import json
import os
import signal
import socket
import time
import urllib.request

import pytest

import _paths  # noqa: F401
import procs
from conftest import REALM, ok
from redis_proc import RedisServer
from turnclient.client import TurnClient

PICKUP = 3.0


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} missing")


def wait_for(predicate, deadline=PICKUP * 3):
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def stack():
    if not os.access(procs.turnd_binary(), os.X_OK):
        pytest.skip(f"turnd not built ({procs.turnd_binary()}); set TURND_BIN")
    redis = RedisServer().start()
    admin = procs.free_port("tcp")
    server = procs.TurndProcess(procs.ServerConfig(
        realm=REALM, extra_args=["--redis", redis.url, "--admin-listen", f"127.0.0.1:{admin}"]))
    server.admin = admin
    try:
        server.start()
        yield redis, server
        server.stop(check=True)
    finally:
        server.stop(check=False)
        redis.cleanup()


def ctl(redis, *args):
    return ok(*args, "--redis", redis.url, "--realm", REALM)


def allocate(server, username, password):
    end = time.monotonic() + PICKUP
    while True:
        c = TurnClient(server.address, username=username, password=password)
        resp = c.allocate()
        if (resp is not None and resp.is_success) or time.monotonic() > end:
            return c, resp
        c.close()
        time.sleep(0.1)


def test_redis_down_and_back_while_relaying(stack):
    redis, server = stack
    ctl(redis, "secret", "add")
    entry = json.loads(ctl(redis, "mint", "--user", "erin", "--ttl", "10m", "--host", "127.0.0.1").out)
    c, resp = allocate(server, entry["username"], entry["credential"])
    with c, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        assert resp.is_success, resp
        assert metric(server.admin, "turnd_redis_up") == 1
        peer.bind(("127.0.0.1", 0))
        assert c.create_permission([peer.getsockname()]).is_success
        relayed = c.relayed[0]

        redis.stop(signal.SIGKILL)  # Redis dies mid-call
        assert wait_for(lambda: metric(server.admin, "turnd_redis_up") == 0), "redis_up stayed 1"
        for i in range(20):  # relaying goes on, both ways
            c.send_indication(peer.getsockname(), b"out-%d" % i)
            data, src = peer.recvfrom(2048)
            assert data == b"out-%d" % i and src == relayed
            peer.sendto(b"in-%d" % i, relayed)
            assert c.recv_data(timeout=2) == (peer.getsockname(), b"in-%d" % i)
        assert c.refresh().is_success  # the cached secret still verifies
        # a new caller with a credential from the cached secret still gets in
        c2, resp2 = allocate(server, entry["username"], entry["credential"])
        with c2:
            assert resp2.is_success, resp2

        redis.start()  # same port; the data is gone (no persistence), the snapshot is not
        assert wait_for(lambda: metric(server.admin, "turnd_redis_up") == 1), "redis_up stayed 0"
        server.assert_alive()
        assert server.log_text().count("up at redis://") >= 2, server.log_tail()


def test_minted_user_expiry_is_enforced(stack):
    redis, server = stack
    out = ctl(redis, "user", "add", "frank", "--ttl", "2s").out
    password = next(l.split()[1] for l in out.splitlines() if l.startswith("password:"))
    c, resp = allocate(server, "frank", password)
    with c:
        assert resp.is_success, resp
    time.sleep(3.5)
    with TurnClient(server.address, username="frank", password=password) as c:
        resp = c.allocate()
        assert resp.is_error and resp.error_code == 401, resp


def test_aioice_relays_with_minted_credentials(stack):
    aioice = pytest.importorskip("aioice")
    redis, server = stack
    ctl(redis, "secret", "add")
    entry = json.loads(ctl(redis, "mint", "--user", "aio", "--ttl", "10m", "--host", "127.0.0.1").out)

    async def run():
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        received = asyncio.Queue()

        class Protocol(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                received.put_nowait((data, addr))

        end = time.monotonic() + PICKUP
        while True:
            try:
                transport, _ = await aioice.turn.create_turn_endpoint(
                    Protocol, server_addr=server.address, username=entry["username"],
                    password=entry["credential"], channel_refresh_time=60, lifetime=600)
                break
            except Exception:
                if time.monotonic() > end:
                    raise
                await asyncio.sleep(0.2)
        try:
            relayed = transport.get_extra_info("sockname")
            loop = asyncio.get_running_loop()
            for i in range(10):
                payload = b"aioice-%d" % i
                transport.sendto(payload, peer.getsockname())  # ChannelBind + ChannelData
                data, src = await asyncio.wait_for(loop.sock_recvfrom(peer, 2048), 3)
                assert data == payload and src[1] == relayed[1]
                await loop.sock_sendto(peer, data[::-1], src)
                back, frm = await asyncio.wait_for(received.get(), 3)
                assert back == payload[::-1] and frm == peer.getsockname()
        finally:
            transport.close()
            peer.close()

    asyncio.run(run())
