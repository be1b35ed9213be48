"""Run by test_peer_filter.py inside a private network namespace (unshare -n): puts lo up with
198.51.100.1 and 198.51.100.2 (documentation addresses, not in the peer deny list, so only the
own-address guard protects them), starts turnd listening and relaying on both, and reports as
one JSON line whether a client on .1 can reach
  - the exact live relayed address of another allocation (198.51.100.2:Pb): must be served,
  - 198.51.100.1:Pb, the same port on the other own address (not a relayed address): must not,
  - 198.51.100.1:Q, a port that is no relay port at all: must not."""

import json
import os
import socket
import subprocess
import sys

import _paths  # noqa: F401
import procs
from turnclient.client import TurnClient

A_IP, B_IP = "198.51.100.1", "198.51.100.2"


def main() -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for ip in (A_IP, B_IP):
        subprocess.run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"], check=True)
    port = procs.free_port()
    cfg = procs.ServerConfig(threads=int(os.environ.get("TURND_THREADS", "1")),
                             listen=((A_IP, port), (B_IP, port)), relay_ips=None, allow_peers=(),
                             users=[("alice", "a"), ("bob", "b")])
    result = {}
    with procs.TurndProcess(cfg) as server:
        a = TurnClient((A_IP, port), "udp", username="alice", password="a", local_ip=A_IP)
        b = TurnClient((B_IP, port), "udp", username="bob", password="b", local_ip=B_IP)
        assert a.allocate().is_success and b.allocate().is_success
        (a_ip, _), (b_ip, pb) = a.relayed[0], b.relayed[0]
        assert (a_ip, b_ip) == (A_IP, B_IP), (a.relayed, b.relayed)
        assert b.create_permission([(A_IP, 0)]).is_success
        assert a.create_permission([(A_IP, 0), (B_IP, 0)]).is_success, a.last_response
        same_port = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        same_port.bind((A_IP, pb))
        other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.bind((A_IP, 0))

        a.send_indication((B_IP, pb), b"exact")
        got = b.recv_data(timeout=2)
        result["exact_live_relay_served"] = got is not None and got[1] == b"exact"

        for name, sock in (("same_port_other_ip_served", same_port), ("other_port_served", other)):
            a.send_indication(sock.getsockname(), name.encode())
            sock.settimeout(0.7)
            try:
                sock.recvfrom(4096)
                result[name] = True
            except socket.timeout:
                result[name] = False
        a.close()
        b.close()
        server.assert_alive()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
