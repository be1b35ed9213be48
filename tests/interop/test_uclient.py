"""coturn's turnutils_uclient against the server under test.

Each run relays messages both ways (client -> relay -> peer -> relay ->
client): turnutils_peer echoes every datagram back, or in client-to-client
mode (-y) two allocations relay to each other.  uclient numbers its messages
and counts a gap as a lost packet; we assert that messages were sent and all
came back, and that uclient saw no malformed data ("ERROR:" lines: wrong
channel, wrong length, indication without DATA).
"""

import os
import re
import signal
import socket
import subprocess
import time

import pytest

import procs

UCLIENT = os.environ.get("UCLIENT_BIN", "/usr/bin/turnutils_uclient")
PEER = os.environ.get("UCLIENT_PEER_BIN", "/usr/bin/turnutils_peer")
N_MESSAGES = 20
MSG_LEN = 180

TOTALS_RE = re.compile(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", re.M)
LOST_RE = re.compile(r"Total lost packets (\d+) \(([\d.]+)%\), total send dropped (\d+)")


class Helper:
    """A background helper process (turnutils_peer) with its own log, stopped by PID."""

    def __init__(self, cmd, log_path):
        self.log_path = log_path
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)  # at once; SIGTERM would drain
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        return self.proc.returncode

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


@pytest.fixture
def udp_peer(turn_server):
    """turnutils_peer (a UDP echo peer) on a free loopback port."""
    port = procs.free_port("udp")
    log = os.path.join(turn_server.dir, "turnutils_peer-%d.log" % port)
    helper = Helper([PEER, "-L", "127.0.0.1", "-p", str(port)], log)
    try:
        # Wait (bounded) until it echoes.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            for _ in range(50):
                s.sendto(b"ready?", ("127.0.0.1", port))
                try:
                    if s.recvfrom(100)[0] == b"ready?":
                        break
                except OSError:
                    time.sleep(0.05)
            else:
                pytest.fail("turnutils_peer did not echo on port %d:\n%s" % (port, helper.log_text()))
        yield port
    finally:
        helper.stop()


def run_uclient(srv, peer_port, flags, label, address=None):
    """address: where uclient connects (default the server's first listen address; the TLS
    tests pass the TLS or DTLS listener's)."""
    host, port = address or srv.address
    cmd = [UCLIENT, "-v"] + flags + [
        "-n", str(N_MESSAGES), "-l", str(MSG_LEN),
        "-e", "127.0.0.1", "-r", str(peer_port),
        "-W", srv.config.secrets[0], "-u", "uclient",
        "-p", str(port), host,
    ]
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="replace", timeout=120)
        out, rc = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        out, rc = out + "\n[timed out after 120 s]", "timeout"
    log = os.path.join(srv.dir, "uclient-%s.log" % label)
    with open(log, "w") as f:
        f.write("# %s\n%s" % (" ".join(cmd), out))
    srv.assert_alive()
    where = "\n`%s` (exit %s), output in %s; last lines:\n%s" % (
        " ".join(cmd), rc, log, "\n".join(out.splitlines()[-40:]))

    assert rc == 0, "turnutils_uclient failed (%s)%s" % (label, where)
    totals = TOTALS_RE.findall(out)
    lost = LOST_RE.search(out)
    assert totals and lost, "no totals in uclient output (%s)%s" % (label, where)
    sent, received = map(int, totals[-1])
    lost_pkts, _, dropped = int(lost.group(1)), lost.group(2), int(lost.group(3))
    errors = [l for l in out.splitlines() if "ERROR" in l]
    assert sent >= N_MESSAGES, "uclient sent only %d messages (%s)%s" % (sent, label, where)
    assert received > 0, "no message came back through the relay (%s)%s" % (label, where)
    assert received == sent, "sent %d, received %d (%s)%s" % (sent, received, label, where)
    assert lost_pkts == 0 and dropped == 0, "lost %d, send dropped %d (%s)%s" % (lost_pkts, dropped, label, where)
    assert not errors, "uclient reported errors (%s):\n%s%s" % (label, "\n".join(errors[:20]), where)
    return sent, received


# -m 2 without -c: two clients, each with an RTP and an RTCP allocation.
MODES = {
    "channel": ["-m", "2"],
    "send-indication": ["-m", "2", "-c", "-s"],
}


@pytest.mark.parametrize("mode", list(MODES))
def test_udp(turn_server, udp_peer, mode):
    run_uclient(turn_server, udp_peer, MODES[mode], "udp-" + mode)


@pytest.mark.parametrize("mode", list(MODES))
def test_tcp(turn_server, udp_peer, mode):
    run_uclient(turn_server, udp_peer, ["-t"] + MODES[mode], "tcp-" + mode)


C2C = {
    "udp-channel": ["-y", "-m", "2"],
    "udp-send-indication": ["-y", "-m", "2", "-c", "-s"],
    "tcp-channel": ["-y", "-t", "-m", "2"],
    "tcp-send-indication": ["-y", "-t", "-m", "2", "-c", "-s"],
}


@pytest.mark.parametrize("mode", list(C2C))
def test_c2c(turn_server, udp_peer, mode):
    # -y relays between pairs of allocations; the peer is unused but harmless.
    run_uclient(turn_server, udp_peer, C2C[mode], "c2c-" + mode)
