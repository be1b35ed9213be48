"""Relay to relay between allocations of two different shards (issue 13): a real turnd with
--threads 2, two real TURN clients whose source ports the kernel hashed (SO_REUSEPORT) to
different shards, as the admin API's "shard" field says. A's datagrams to B's relayed address
reach B's client, handed over inside the process (turnd_relay_handoff_total{path="cross_shard"}
counts each one, and nothing is left for the kernel path); without B's permission nothing
arrives and turnd_peer_packets_denied_total counts it. turnd only (coturn has no admin API)."""

import json
import socket
import time
import urllib.request

import pytest

import _paths  # noqa: F401
import procs
from conftest import SERVER_KIND, start_server, stop_server
from turnclient import TurnClient, rest_credentials

pytestmark = pytest.mark.skipif(SERVER_KIND != "turnd", reason="turnd's admin API and metrics")

SECRET = "cross-shard-secret"
API_KEY = "k-cross-shard-0123456789"
CROSS = 'turnd_relay_handoff_total{path="cross_shard"}'
SAME = 'turnd_relay_handoff_total{path="same_shard"}'
DENIED = "turnd_peer_packets_denied_total"


@pytest.fixture(scope="module")
def server():
    port = procs.free_port("tcp")
    yaml = f"admin:\n  listen: \"127.0.0.1:{port}\"\n  api_key: \"{API_KEY}\"\n"
    s = start_server(procs.ServerConfig(threads=2, secrets=[SECRET], config_yaml=yaml))
    s.admin_port = port
    yield s
    stop_server(s)


def admin_get(server, path):
    req = urllib.request.Request(f"http://127.0.0.1:{server.admin_port}{path}",
                                 headers={"Authorization": "Bearer " + API_KEY})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def metrics(server):
    out = {}
    for line in admin_get(server, "/metrics").splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def shard_of(server, client):
    doc = json.loads(admin_get(server, "/api/v1/allocations"))
    [a] = [a for a in doc["allocations"] if a["username"] == client.username]
    return a["shard"]


def one_client_per_shard(server):
    """Clients on fresh source ports until one lands on each shard (bounded: 40 tries)."""
    by_shard, extra = {}, []
    for i in range(40):
        username, password = rest_credentials(SECRET, f"user{i}")
        c = TurnClient(server.address_for("v4"), "udp", username=username, password=password)
        r = c.allocate()
        assert r is not None and r.is_success, r and r.error_code
        shard = shard_of(server, c)
        (extra if shard in by_shard else []).append(c)
        by_shard.setdefault(shard, c)
        if len(by_shard) == 2:
            break
    for c in extra:
        c.refresh(lifetime=0)
        c.close()
    assert sorted(by_shard) == [0, 1], "40 source ports all hashed to one shard"
    return by_shard[0], by_shard[1]


def wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def test_relay_to_relay_across_shards_is_handed_over_in_process(server):
    a, b = one_client_per_shard(server)
    try:
        a_relayed, b_relayed = a.relayed[0], b.relayed[0]
        m0 = metrics(server)
        assert a.channel_bind(0x4000, b_relayed).is_success

        # B has no permission for A's relayed address: shard 1 drops it and counts.
        a.send_channel_data(0x4000, b"denied")
        assert wait_for(lambda: metrics(server)[DENIED] == m0[DENIED] + 1)
        assert b.recv_data(timeout=0.3) is None
        assert wait_for(lambda: metrics(server)[CROSS] == m0[CROSS] + 1)

        assert b.create_permission([a_relayed]).is_success
        sent = [b"cross-%d" % i for i in range(50)]
        for payload in sent:
            a.send_channel_data(0x4000, payload)
        got = []
        for _ in sent:
            d = b.recv_data(timeout=2.0)
            assert d is not None, f"after {len(got)} of {len(sent)}"
            assert d[0] == a_relayed, "B sees A's relayed address as the peer"
            got.append(d[1])
        assert sorted(got) == sorted(sent)

        # Back the other way, shard 1 to shard 0, ChannelData both ends.
        assert a.create_permission([b_relayed]).is_success
        assert b.channel_bind(0x4abc, a_relayed).is_success
        b.send_channel_data(0x4abc, b"back")
        assert a.recv_channel_data(timeout=2.0) == (0x4000, b"back"), "A's channel to B"

        # The sending shard counts a handoff just after queueing it, so the owner may deliver
        # (and we may read /metrics) a moment before the count is visible: wait for it.
        handed = 1 + len(sent) + 1
        assert wait_for(lambda: metrics(server)[CROSS] - m0[CROSS] >= handed)
        m1 = metrics(server)
        assert m1[CROSS] - m0[CROSS] == handed, "every datagram handed over, once"
        assert m1[SAME] == m0[SAME]
        assert m1['turnd_relay_handoff_dropped_total{reason="queue_full"}'] == 0
        assert m1["turnd_relay_handoff_drains_total"] >= 2
        # Handed over, the datagram never reaches B's relay socket: the kernel path would have
        # delivered each one a second time.
        assert b.recv_data(timeout=0.3) is None
    finally:
        for c in (a, b):
            c.refresh(lifetime=0)
            c.close()
    server.assert_alive()
