"""Issue 9, defect 7: forms of internal addresses that slipped past the peer filter, the most
specific rule winning over a broader allow, and the own-address guard checking the exact live
relayed (IP, port). CreatePermission and ChannelBind must answer 403 for every denied form; a
Send indication to one must relay nothing. No packet leaves the host: CreatePermission and
ChannelBind send nothing to the peer, and the only datagrams sent go to loopback or to
addresses inside a private network namespace."""

import ipaddress
import json
import os
import subprocess
import sys

import pytest

import _paths  # noqa: F401
import procs
from conftest import start_server, stop_server
from hardening_lib import admin_args, metric
from turnclient import codec
from turnclient.client import TurnClient

pytestmark = pytest.mark.turn

ALICE = ("alice", "alicepw")
HERE = os.path.dirname(os.path.abspath(__file__))

# Bypass forms of issue 9 (each must be 403).
BYPASS_FORMS = [
    ("fec0::1", "site-local (deprecated, RFC 3879)"),
    ("2002:7f00:1::1", "6to4 embedding 127.0.0.1"),
    ("2002:a00:1::1", "6to4 embedding 10.0.0.1"),
    ("2002:c0a8:101::1", "6to4 embedding 192.168.1.1"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ("2001::1", "Teredo prefix"),
    ("::ffff:0:7f00:1", "IPv4-translated 127.0.0.1 (RFC 2765)"),
    ("::ffff:127.0.0.1", "IPv4-mapped 127.0.0.1"),
    ("::127.0.0.1", "IPv4-compatible 127.0.0.1"),
    ("64:ff9b::7f00:1", "NAT64 127.0.0.1"),
    ("64:ff9b::a00:1", "NAT64 10.0.0.1"),
    ("64:ff9b:1::a00:1", "local-use NAT64"),
]
# One address in every default-denied range, and its IPv6 spellings for the IPv4 ones.
DENIED_V4 = ["0.0.0.1", "10.1.2.3", "100.64.0.1", "127.0.0.1", "127.255.255.254",
             "169.254.169.254", "172.16.0.1", "172.31.255.254", "192.0.0.1", "192.168.1.1",
             "198.18.0.1", "198.19.255.254", "224.0.0.1", "239.255.255.250", "240.0.0.1",
             "255.255.255.255"]
DENIED_V6 = ["::", "::1", "fc00::1", "fd00:ec2::254", "fe80::1", "ff02::1", "ff0e::1"]
# Public addresses: allowed (nothing is sent to them; permissions send nothing).
ALLOWED = [("8.8.8.8", "public IPv4"), ("2606:4700:4700::1111", "public IPv6"),
           ("2002:808:808::1", "6to4 of the public 8.8.8.8")]


def v6_forms(v4: str):
    """IPv4-mapped, IPv4-compatible, IPv4-translated, NAT64 and 6to4 spellings of v4."""
    n = int(ipaddress.IPv4Address(v4))
    forms = [(0xFFFF << 32) | n, (0xFFFF << 48) | n, (0x64FF9B << 96) | n,
             (0x2002 << 112) | (n << 80) | 1]
    if n > 1:  # ::0.0.0.0 and ::0.0.0.1 are :: and ::1, listed on their own
        forms.append(n)
    return [str(ipaddress.IPv6Address(f)) for f in forms]


def denied_cases():
    cases = [(a, why) for a, why in BYPASS_FORMS]
    for v4 in DENIED_V4:
        cases.append((v4, "default-denied IPv4"))
        cases += [(f, f"IPv6 form of {v4}") for f in v6_forms(v4)]
    cases += [(a, "default-denied IPv6") for a in DENIED_V6]
    seen, out = set(), []
    for a, why in cases:
        if a not in seen:
            seen.add(a)
            out.append((a, why))
    return out


DENIED = denied_cases()


@pytest.fixture(scope="module")
def server(threads):
    """No --allow-peer: the built-in deny list applies in full. Dual-stack relay so IPv6 peers
    are judged by the filter (not refused with 443)."""
    admin = procs.free_port("tcp")
    s = start_server(procs.ServerConfig(threads=threads, users=[ALICE], allow_peers=(),
                                        relay_ips=["127.0.0.1", "::1"],
                                        extra_args=admin_args(admin)))
    s.admin = admin
    yield s
    stop_server(s)


@pytest.fixture
def client(server):
    c = TurnClient(server.address, "udp", username=ALICE[0], password=ALICE[1])
    resp = c.allocate(additional_family=codec.FAMILY_V6)
    assert resp is not None and resp.is_success, resp
    assert len(c.relayed) == 2, c.relayed
    yield c
    c.refresh(lifetime=0)
    c.close()


def outcome(resp):
    assert resp is not None, "no answer"
    return 200 if resp.is_success else resp.error_code


def test_every_denied_form_is_refused(server, client):
    wrong = []
    to_peer = metric(server.admin, 'turnd_relayed_packets_total{direction="to_peer"}')
    for i, (addr, why) in enumerate(DENIED):
        peer = (addr, 3478)
        got = (outcome(client.create_permission([peer])),
               outcome(client.channel_bind(0x4000 + i, peer)))
        client.send_indication(peer, b"must not leave")
        if got != (403, 403):
            wrong.append(f"{addr} ({why}): CreatePermission {got[0]}, ChannelBind {got[1]}")
    server.assert_alive()
    assert not wrong, f"{len(wrong)} of {len(DENIED)} denied forms not refused:\n" + "\n".join(wrong)
    assert metric(server.admin, 'turnd_relayed_packets_total{direction="to_peer"}') == to_peer


def test_public_addresses_are_allowed(server, client):
    for i, (addr, why) in enumerate(ALLOWED):
        peer = (addr, 3478)
        assert outcome(client.create_permission([peer])) == 200, (addr, why)
        assert outcome(client.channel_bind(0x4F00 + i, peer)) == 200, (addr, why)


def test_explicit_deny_beats_a_broader_allow(threads, server_factory):
    s = server_factory(procs.ServerConfig(threads=threads, users=[ALICE],
                                          allow_peers=["10.0.0.0/8"], deny_peers=["10.0.0.1/32"]))
    with TurnClient(s.address, "udp", username=ALICE[0], password=ALICE[1]) as c:
        assert c.allocate().is_success
        assert outcome(c.create_permission([("10.0.0.1", 9)])) == 403
        assert outcome(c.channel_bind(0x4001, ("10.0.0.1", 9))) == 403
        assert outcome(c.create_permission([("::ffff:10.0.0.1", 9)])) in (403, 443)
        assert outcome(c.create_permission([("10.0.0.2", 9)])) == 200
        assert outcome(c.channel_bind(0x4002, ("10.0.0.2", 9))) == 200


def test_own_address_guard_checks_ip_and_port(threads):
    """In a private network namespace with two non-loopback addresses on lo (198.51.100.1 and
    .2, not in the deny list, so only the own-address guard protects them): a relay port live
    on .2 must not make the same port on .1 reachable (see guard_child.py)."""
    if os.geteuid() != 0 and subprocess.run(["unshare", "-rn", "true"]).returncode != 0:
        pytest.skip("cannot create a network namespace here")
    cmd = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    env = dict(os.environ, TURND_THREADS=str(threads))
    p = subprocess.run(cmd + [sys.executable, os.path.join(HERE, "guard_child.py")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, f"guard_child failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["exact_live_relay_served"], result
    assert not result["same_port_other_ip_served"], (
        "a datagram reached 198.51.100.1:<port live only on 198.51.100.2>: the guard checks "
        f"the port, not the (IP, port) {result}")
    assert not result["other_port_served"], result
