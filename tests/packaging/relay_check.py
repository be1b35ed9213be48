#!/usr/bin/env python3
"""Answers for the install test: a Binding and one relayed message each way through a turnd on
127.0.0.1:PORT, with the iceServers entry printed by the installed `turnctl mint` (JSON on
stdin). Exit 0 when both work; one line on stderr saying what failed otherwise.

    relay_check.py PORT < mint.json
"""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from turnclient import StunClient, TurnClient  # noqa: E402


def fail(what: str) -> None:
    print(f"relay_check: {what}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    port = int(sys.argv[1])
    entry = json.load(sys.stdin)
    server = ("127.0.0.1", port)

    with StunClient(server, "udp") as stun:
        resp = stun.binding()
        if resp is None or not resp.is_success:
            fail(f"no Binding success from {server}: {resp}")
        mapped = resp.xor_mapped_address
        if mapped != stun.local_address:
            fail(f"XOR-MAPPED-ADDRESS {mapped} != our address {stun.local_address}")

    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(3.0)
    try:
        with TurnClient(server, "udp", username=entry["username"],
                        password=entry["credential"]) as turn:
            resp = turn.allocate()
            if resp is None or not resp.is_success:
                fail(f"Allocate with the minted credential refused: {resp}")
            relayed = turn.relayed[0]
            resp = turn.create_permission([peer.getsockname()])
            if resp is None or not resp.is_success:
                fail(f"CreatePermission refused: {resp}")
            turn.send_indication(peer.getsockname(), b"to-peer")
            data, source = peer.recvfrom(2048)
            if data != b"to-peer" or tuple(source[:2]) != tuple(relayed[:2]):
                fail(f"peer got {data!r} from {source}, expected b'to-peer' from {relayed}")
            peer.sendto(b"to-client", tuple(relayed[:2]))
            got = turn.recv_data(timeout=3.0)
            if got is None or got[1] != b"to-client":
                fail(f"client got {got}, expected b'to-client' from the peer")
    finally:
        peer.close()
    print(f"relay_check: Binding answered, relayed both ways via {relayed[0]}:{relayed[1]}")


if __name__ == "__main__":
    main()
