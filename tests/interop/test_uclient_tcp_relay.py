"""RFC 6062 TCP relaying across a real NAT (issue 14), in network namespaces (tests/lib/netns.py):

    client ns 198.51.100.2 ── NAT (masquerade persistent) ── server ns 203.0.113.10 (the server)
                                                               192.0.2.129 ── peer ns 192.0.2.130

The peer namespace hangs off the server's namespace (a public host next to the server; the
lab's site2 sits behind the router, whose filter lets in no new flows from the server side).

- coturn's `turnutils_uclient -T` (TCP relay; it implies -y: two allocations per client, one
  Connects to the other's relayed address, which accepts with a ConnectionAttempt and a
  ConnectionBind) from behind the NAT: every message it sends comes back, byte counts exact.
  No --allow-peer: the relayed addresses are public ones the default filter allows.
- The peer filter: a Connect to a peer the default filter denies (10.0.0.0/8; nothing answers
  there, and no route leads out of the lab) and to the peer with `--deny-peer 192.0.2.128/25`
  gets 403 and the peer sees no connection; the same peer without the flag is reached and
  echoes.
- A peer that resets its connection (SO_LINGER 0) closes the client's data connection.
The client side of the last two is tests/interop/tcp_relay_probe.py (our TurnClient) run in the
client namespace. Skipped (with the reason) where namespaces cannot be made (not root, no nft).
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

import procs
import netns

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(os.path.dirname(HERE), "lib")
UCLIENT = os.environ.get("UCLIENT_BIN", "/usr/bin/turnutils_uclient")
SERVER_IP = netns.SERVER_IPS[0]
PORT = 3478
PEER_NET, PEER_GW, PEER_IP, PEER_PORT = "192.0.2.128/25", "192.0.2.129", "192.0.2.130", 5000
SECRET = "tcp-relay-nat-" + os.urandom(6).hex()

TOTALS_RE = re.compile(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", re.M)
BYTES_RE = re.compile(r"start_mclient: tot_send_bytes ~ (\d+), tot_recv_bytes ~ (\d+)\s*$", re.M)
LOST_RE = re.compile(r"Total lost packets (\d+) \(([\d.]+)%\), total send dropped (\d+)")


@pytest.fixture
def lab():
    why = netns.skip_reason()
    if why:
        pytest.skip(why)
    with netns.NatLab("tcprelay", netns.NatKind.PORT_RESTRICTED) as lab:
        lab.peer = lab.add("q")
        lab.veth(lab.server, "q0", lab.peer, "eth0")
        lab.addr(lab.server, "q0", PEER_GW + "/25")
        lab.addr(lab.peer, "eth0", PEER_IP + "/25")
        lab.route(lab.peer, "default", PEER_GW)
        yield lab


def server_in(lab, extra=(), deny=()):
    """The server under test (turnd, or coturn with TURND_SERVER=coturn) in the lab's server
    namespace on SERVER_IP:PORT, relaying from SERVER_IP, with the default peer filter."""
    base = procs.server_class()

    class InNamespace(base):
        def command(self):
            return [netns.IP, "netns", "exec", lab.server] + super().command()

        def _wait_ready(self):
            probe = ("import socket,sys\ns=socket.socket()\ns.settimeout(0.3)\n"
                     "sys.exit(0 if s.connect_ex((%r,%d))==0 else 1)" % (SERVER_IP, PORT))
            deadline = time.monotonic() + self.ready_timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise procs.ServerCrashed("%s exited during start-up\n%s" % (
                        self.name, self.log_tail()))
                if lab.run_in(lab.client, [sys.executable, "-c", probe]).returncode == 0:
                    return
                time.sleep(0.1)
            raise procs.ServerCrashed("%s: no TCP listener on %s:%d\n%s" % (
                self.name, SERVER_IP, PORT, self.log_tail()))

    cfg = procs.ServerConfig(listen=[(SERVER_IP, PORT)], realm="nat.test", secrets=[SECRET],
                             relay_ips=[SERVER_IP], relay_ports=(49152, 49351), allow_peers=(),
                             deny_peers=list(deny), threads=2, extra_args=list(extra),
                             log_level="info")
    return InNamespace(cfg).start()


def peer_in(lab, mode, expect=0):
    """tests/lib/tcp_peer.py in the peer namespace on PEER_IP:PEER_PORT."""
    p = lab.popen_in(lab.peer, [sys.executable, os.path.join(LIB, "tcp_peer.py"), "--mode", mode,
                                 "--host", PEER_IP, "--port", str(PEER_PORT), "--expect",
                                 str(expect), "--lifetime", "60"],
                     stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    assert line.startswith("ready"), f"peer did not start: {line!r}"
    return p


def peer_report(p):
    """Stop the peer (SIGTERM) and return its per-connection lines."""
    netns.stop_process(p)
    return [l for l in p.stdout.read().splitlines() if l.startswith("connection")]


def probe(lab, peer, *args):
    r = lab.run_in(lab.client, [sys.executable, os.path.join(HERE, "tcp_relay_probe.py"),
                                "--server", f"{SERVER_IP}:{PORT}", "--secret", SECRET,
                                "--peer", peer] + list(args), timeout=90)
    assert r.stdout.strip(), f"probe printed nothing (exit {r.returncode}): {r.stderr}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_uclient_tcp_relay_through_nat(lab):
    """turnutils_uclient -T -m 2: one pair of clients (two TCP allocations, one Connects to the
    other's relayed address), 50 messages of 1,000 bytes from each, from behind the NAT: all
    sent, all received, byte counts exact."""
    if not os.access(UCLIENT, os.X_OK):
        pytest.skip("turnutils_uclient not installed (apt: coturn)")
    srv = server_in(lab)
    try:
        # What uclient -T does, with our client first: a Connect from one allocation to another's
        # relayed address (a public address of the server itself) must be allowed
        got = probe(lab, "relay", "--echo", "200000")
        assert got["connect"] == 200 and got["attempt"] and got["echo_ok"], \
            f"relay to relay over RFC 6062 failed: {got}"
        m, n, size = 2, 50, 1000
        r = lab.run_in(lab.client, [UCLIENT, "-T", "-m", str(m), "-n", str(n), "-l", str(size),
                                    "-W", SECRET, "-u", "nat", "-p", str(PORT), SERVER_IP],
                       timeout=60)
        out = r.stdout + r.stderr
        print(out[-3000:])
        assert r.returncode == 0, f"uclient exit {r.returncode}\n{out[-3000:]}"
        totals, bytes_ = TOTALS_RE.findall(out), BYTES_RE.findall(out)
        assert totals and bytes_, "no totals in uclient's output"
        sent, recv = map(int, totals[-1])
        sent_b, recv_b = map(int, bytes_[-1])
        want = m * n  # -m counts clients: m / 2 pairs, each client sends n
        assert (sent, recv) == (want, want), f"messages sent/received {sent}/{recv}, want {want}"
        assert (sent_b, recv_b) == (want * size, want * size), (sent_b, recv_b)
        lost = LOST_RE.search(out)
        assert lost and int(lost.group(1)) == 0 and int(lost.group(3)) == 0, lost and lost.group(0)
        assert "ERROR" not in out.replace("ERROR: 0", ""), "uclient reported errors"
        # the server saw the client from the NAT's public address, not its own one
        log = srv.log_text()
        assert netns.CLIENT_IP not in log or netns.NAT_PUBLIC_IP in log
    finally:
        srv.stop(check=True)


def test_peer_filter_refuses_private_peers(lab):
    """Default filter: 10.0.0.0/8 is refused with 403 (nothing is sent: no route there either).
    --deny-peer 192.0.2.128/25 refuses the peer, which sees no connection; without it the same
    peer is reached and echoes."""
    peer = peer_in(lab, "echo")
    try:
        srv = server_in(lab, deny=[PEER_NET])
        try:
            got = probe(lab, "10.1.2.3:80")
            # coturn 4.6.1 denies no private range by default: it tries (447, no route)
            assert got["connect"] == (403 if procs.server_kind() == "turnd" else 447), got
            got = probe(lab, f"{PEER_IP}:{PEER_PORT}")
            assert got["connect"] == 403, got
            assert got["mapped"].startswith(netns.NAT_PUBLIC_IP + ":"), got
        finally:
            srv.stop(check=True)
        srv = server_in(lab)
        try:
            got = probe(lab, f"{PEER_IP}:{PEER_PORT}", "--echo", "100000")
            assert got["connect"] == 200 and got["echo_ok"] is True, got
        finally:
            srv.stop(check=True)
    finally:
        lines = peer_report(peer)
    # only the second server reached the peer, once, from its relayed address
    assert len(lines) == 1 and lines[0].startswith(f"connection from {SERVER_IP}:"), lines


def test_peer_reset_closes_data_connection(lab):
    """A peer that resets its connection (SO_LINGER 0 after 1,000 bytes) makes the server close
    the client's data connection."""
    peer = peer_in(lab, "reset", expect=1000)
    srv = server_in(lab)
    try:
        got = probe(lab, f"{PEER_IP}:{PEER_PORT}", "--until-closed", "1000")
        assert got["connect"] == 200 and got.get("bind") == 200, got
        assert got["closed_after_s"] is not None, f"data connection still open 10 s after the reset: {got}"
        assert got["closed_after_s"] < 5, got
    finally:
        srv.stop(check=True)
        lines = peer_report(peer)
    assert len(lines) == 1 and lines[0].endswith("got 1000 bytes"), lines
