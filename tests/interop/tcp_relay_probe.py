"""The client side of the RFC 6062 network-namespace tests (test_uclient_tcp_relay.py), run
inside the client's namespace (`ip netns exec`): our TurnClient over TCP through the lab's NAT.

    python3 tcp_relay_probe.py --server IP:PORT --secret S --peer IP:PORT [--echo N] [--until-closed N]
    python3 tcp_relay_probe.py --server IP:PORT --secret S --peer relay --echo N

Allocates a TCP relay, sends Connect to the peer and prints one JSON line:
  {"mapped": "ip:port", "relayed": "ip:port", "connect": 200 | error code | null,
   "echo_ok": bool (--echo N: N random bytes to an echo peer and back, checked),
   "closed_after_s": float | null (--until-closed N: N bytes sent, then how long until the
   data connection closed; null when it stayed open for 10 s)}
With --peer relay the peer is a second TCP allocation of ours on the same server (what
turnutils_uclient -T does): it permits the first one's relayed address, the first Connects to
the second's relayed address, the second gets the ConnectionAttempt ("attempt": bool) and binds,
and N random bytes go each way at the same time ("echo_ok": both arrived intact).
"""

import argparse
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lib"))

from turnclient import PROTO_TCP, TurnClient, rest_credentials  # noqa: E402


def hostport(text):
    if text == "relay":
        return text
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
        if a.peer == "relay":
            return relay_to_relay(c, a, out)
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


def relay_to_relay(c, a, out):
    u, p = rest_credentials(a.secret, "probe-b")
    with TurnClient(a.server, "tcp", username=u, password=p, timeout=40) as b:
        r = b.allocate(PROTO_TCP)
        out["allocate_b"] = None if r is None else (200 if r.is_success else r.error_code)
        r = b.create_permission([c.relayed[0]])
        out["permission_b"] = None if r is None else (200 if r.is_success else r.error_code)
        r = c.connect(b.relayed[0])
        out["connect"] = None if r is None else (200 if r.is_success else r.error_code)
        m = b.recv_connection_attempt(5)
        out["attempt"] = m is not None
        if r is None or not r.is_success or m is None:
            print(json.dumps(out))
            return 1
        da, db = c.connection_bind(r.connection_id), b.connection_bind(m.connection_id)
        out["bind"] = [200 if d.ok else d.error_code for d in (da, db)]
        if da.ok and db.ok:
            pa, pb = os.urandom(a.echo), os.urandom(a.echo)
            got_b = {}
            t = threading.Thread(target=lambda: got_b.update(v=db.exchange(pb, len(pa), 30)))
            t.start()
            got_a = da.exchange(pa, len(pb), 30)
            t.join(35)
            out["echo_ok"] = got_a == pb and got_b.get("v") == pa
        da.close()
        db.close()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
