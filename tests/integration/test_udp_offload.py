"""UDP GSO and GRO end to end (issue 13): a real turnd, a real TURN client and a UDP peer on
loopback, each sending a burst as ONE segmented write (UDP_SEGMENT), which loopback delivers to
a socket with UDP_GRO as one coalesced buffer. turnd must split each burst into the datagrams
that were sent, relay every one intact and in order (ChannelData to the client, raw datagrams to
the peer), and its /metrics must show the coalesced buffers and segmented writes. With
--udp-gso false --udp-gro false the same traffic crosses the same way, one datagram per buffer
and per message. turnd only (its admin metrics)."""

import socket
import struct
import urllib.request

import pytest

import _paths  # noqa: F401
import procs
from conftest import SERVER_KIND, start_server, stop_server
from turnclient import TurnClient, rest_credentials

pytestmark = pytest.mark.skipif(SERVER_KIND != "turnd", reason="turnd's admin API and metrics")

SOL_UDP, UDP_SEGMENT = 17, 103
SECRET = "udp-offload-secret"
API_KEY = "k-udp-offload-0123456789"


def kernel_has_gso() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.setsockopt(SOL_UDP, UDP_SEGMENT, 0)
            return True
        except OSError:
            return False


@pytest.fixture(scope="module", params=["on", "off"])
def server(request):
    if not kernel_has_gso():
        pytest.skip("this kernel has no UDP_SEGMENT")
    port = procs.free_port("tcp")
    yaml = f"admin:\n  listen: \"127.0.0.1:{port}\"\n  api_key: \"{API_KEY}\"\n"
    off = ["--udp-gso", "false", "--udp-gro", "false"] if request.param == "off" else []
    s = start_server(procs.ServerConfig(threads=1, secrets=[SECRET], config_yaml=yaml,
                                        extra_args=off))
    s.admin_port = port
    s.offload = request.param
    yield s
    stop_server(s)


def metrics(server):
    req = urllib.request.Request(f"http://127.0.0.1:{server.admin_port}/metrics",
                                 headers={"Authorization": "Bearer " + API_KEY})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def send_segmented(sock, payloads, segment, to):
    """One sendmsg of all payloads (each `segment` bytes, the last may be shorter)."""
    sock.sendmsg([b"".join(payloads)], [(SOL_UDP, UDP_SEGMENT, struct.pack("=H", segment))], 0, to)


def test_bursts_are_split_relayed_intact_and_counted(server):
    log = server.log_text()
    assert ("GSO) on" in log and "GRO) on" in log) if server.offload == "on" else "off (config)" in log
    username, password = rest_credentials(SECRET, "burst")
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(3)
    c = TurnClient(server.address_for("v4"), "udp", username=username, password=password)
    try:
        assert c.allocate().is_success
        relayed = c.relayed[0]
        assert c.channel_bind(0x4001, peer.getsockname()).is_success
        m0 = metrics(server)

        # Peer -> client: 20 datagrams of 300 bytes and a short last one, in one write.
        burst = [bytes([i]) * 300 for i in range(20)] + [b"last"]
        send_segmented(peer, burst, 300, (relayed[0], relayed[1]))
        got = [c.recv_channel_data(timeout=3.0) for _ in burst]
        assert got == [(0x4001, p) for p in burst], "split, framed and relayed in order"

        # Client -> peer: 16 ChannelData frames of 4 + 296 bytes in one write.
        data = [bytes([0x80 + i]) * 296 for i in range(16)]
        frames = [struct.pack("!HH", 0x4001, len(d)) + d for d in data]
        send_segmented(c.transport.sock, frames, 300, c.server_address)
        received = [peer.recvfrom(2048) for _ in data]
        assert [r[0] for r in received] == data
        assert all(r[1] == (relayed[0], relayed[1]) for r in received)

        m1 = metrics(server)
        gro = m1['turnd_udp_offload_total{kind="gro_buffers"}'] - m0['turnd_udp_offload_total{kind="gro_buffers"}']
        gso = m1['turnd_udp_offload_total{kind="gso_writes"}'] - m0['turnd_udp_offload_total{kind="gso_writes"}']
        recv_dgrams = (m1['turnd_udp_datagrams_total{direction="received"}']
                       - m0['turnd_udp_datagrams_total{direction="received"}'])
        recv_calls = (m1['turnd_udp_syscalls_total{direction="received"}']
                      - m0['turnd_udp_syscalls_total{direction="received"}'])
        assert recv_dgrams >= len(burst) + len(data)
        assert m1['turnd_udp_offload_total{kind="gso_fallbacks"}'] == 0
        assert m1['turnd_udp_offload_total{kind="gro_dropped"}'] == 0
        if server.offload == "on":
            assert gro >= 2, "one coalesced buffer on the relay socket, one on the listener"
            assert gso >= 2, "each burst leaves turnd as segmented writes"
            assert recv_dgrams / recv_calls > 4
        else:
            assert gro == 0 and gso == 0
    finally:
        c.refresh(lifetime=0)
        c.close()
        peer.close()
    server.assert_alive()
