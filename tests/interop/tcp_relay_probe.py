"""The client side of the RFC 6062 network-namespace tests (test_uclient_tcp_relay.py), run
inside the client's namespace (`ip netns exec`): our TurnClient over TCP through the lab's NAT.

    python3 tcp_relay_probe.py --server IP:PORT --secret S --peer IP:PORT [--echo N] [--until-closed N]

Allocates a TCP relay, sends Connect to the peer and prints one JSON line:
  {"mapped": "ip:port", "relayed": "ip:port", "connect": 200 | error code | null,
   "echo_ok": bool (--echo N: N random bytes to an echo peer and back, checked),
   "closed_after_s": float | null (--until-closed N: N bytes sent, then how long until the
   data connection closed; null when it stayed open for 10 s)}
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))

from turnclient import PROTO_TCP, TurnClient, rest_credentials  # noqa: E402


def hostport(text):
    ip, port = text.rsplit(":", 1)
    return ip.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True, type=hostport)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--peer", required=True, type=hostport)
    ap.add_argument("--echo", type=int, default=0)
    ap.add_argument("--until-closed", type=int, default=0)
    a = ap.parse_args()
    out = {"mapped": None, "relayed": None, "connect": None, "echo_ok": None,
           "closed_after_s": None}
    u, p = rest_credentials(a.secret, "probe")
    with TurnClient(a.server, "tcp", username=u, password=p, timeout=40) as c:
        r = c.allocate(PROTO_TCP)
        if r is None or not r.is_success:
            out["allocate"] = None if r is None else r.error_code
            print(json.dumps(out))
            return 1
        out["mapped"] = "%s:%d" % c.mapped
        out["relayed"] = "%s:%d" % c.relayed[0]
        r = c.connect(a.peer)
        out["connect"] = None if r is None else (200 if r.is_success else r.error_code)
        if r is not None and r.is_success and (a.echo or a.until_closed):
            d = c.connection_bind(r.connection_id)
            out["bind"] = 200 if d.ok else d.error_code
            if d.ok and a.echo:
                payload = os.urandom(a.echo)
                out["echo_ok"] = d.exchange(payload, len(payload), timeout=20) == payload
            if d.ok and a.until_closed:
                d.sendall(os.urandom(a.until_closed))
                t0 = time.monotonic()
                if d.wait_closed(10):
                    out["closed_after_s"] = round(time.monotonic() - t0, 3)
            d.close()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
