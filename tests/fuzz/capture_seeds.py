#!/usr/bin/env python3
"""Captures real bytes for two seed corpora (re-run to refresh; needs redis-server and curl):

- corpus/redis_reply: the reply streams a real redis-server (on a free loopback port, no
  persistence) sends for the commands CredentialRepo issues, after the records are written
  the way turnctl writes them (plus some broken records). Byte 0 picks the operation of
  fuzz_redis_reply (0 secrets, 1 users, 2 add_secret, 3 retire, 4 add_user, 5 revoke, 6 publish,
  7 subscribe); the fake server itself answers the client's PING.
- corpus/admin_http: requests exactly as curl sends them, prefixed with the set-up byte 7.
"""
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "lib"))
import procs  # noqa: E402

REALM = "fuzz.test"


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def read_reply(self):
        """Reads one whole reply and returns its raw bytes."""
        while True:
            end = self._complete(0)
            if end is not None:
                raw, self.buf = self.buf[:end], self.buf[end:]
                return raw
            self.buf += self.sock.recv(65536)

    def _complete(self, pos):
        if pos >= len(self.buf):
            return None
        line_end = self.buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        kind, head = self.buf[pos:pos + 1], self.buf[pos + 1:line_end]
        nxt = line_end + 2
        if kind in b"+-:":
            return nxt
        if kind == b"$":
            n = int(head)
            if n < 0:
                return nxt
            return nxt + n + 2 if len(self.buf) >= nxt + n + 2 else None
        if kind == b"*":
            n = int(head)
            for _ in range(max(n, 0)):
                nxt = self._complete(nxt)
                if nxt is None:
                    return None
            return nxt
        raise ValueError(self.buf)

    def run(self, *commands):
        """Sends the commands pipelined; returns the concatenated raw replies."""
        self.sock.sendall(b"".join(resp(*c) for c in commands))
        return b"".join(self.read_reply() for _ in commands)


def capture_redis(out):
    port = procs.free_port("tcp")
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "no", "--dir", tmp],
                                  stdout=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    r = Redis(port)
                    break
                except OSError:
                    time.sleep(0.05)
            seeds = {}
            r.run(("FLUSHALL",))
            # Two good secrets, one member without a record, one bad id.
            r.run(("HSET", "turnd:secret:1735689600000-ab12", "value", "s1", "created", "1735689600"),
                  ("ZADD", "turnd:secrets", "1735689600", "1735689600000-ab12"),
                  ("HSET", "turnd:secret:1735689700000-cd34", "value", "s2", "created", "1735689700"),
                  ("ZADD", "turnd:secrets", "1735689700", "1735689700000-cd34"),
                  ("ZADD", "turnd:secrets", "1735689800", "1735689800000-dead"),
                  ("ZADD", "turnd:secrets", "5", "bad id!"))
            listing = r.run(("ZREVRANGE", "turnd:secrets", "0", "-1", "WITHSCORES"))
            hgets = r.run(*[("HGET", f"turnd:secret:{i}", "value") for i in
                            ("1735689800000-dead", "1735689700000-cd34", "1735689600000-ab12")])
            seeds["secrets"] = b"\x00" + listing + hgets
            # Users: one good, one expired, one with a bad key, one that is not a hash.
            good = ("HSET", f"turnd:user:{REALM}:alice", "md5", "00" * 16, "sha256", "11" * 32,
                    "expires", "1767225600")
            r.run(good, ("HSET", f"turnd:user:{REALM}:old", "md5", "22" * 16, "sha256", "33" * 32,
                         "expires", "1000"),
                  ("HSET", f"turnd:user:{REALM}:broken", "md5", "zz", "sha256", "", "expires", "x"),
                  ("SET", f"turnd:user:{REALM}:string", "oops"))
            scan = r.run(("SCAN", "0", "MATCH", f"turnd:user:{REALM}:*", "COUNT", "1000"))
            keys = sorted([f"turnd:user:{REALM}:{n}" for n in ("alice", "old", "broken", "string")])
            hmgets = r.run(*[("HMGET", k, "md5", "sha256", "expires") for k in keys])
            seeds["users"] = b"\x01" + scan + hmgets
            seeds["add_secret"] = b"\x02" + r.run(
                ("TYPE", "turnd:secrets"), ("MULTI",),
                ("HSET", "turnd:secret:1735689900000-beef", "value", "s3", "created", "1735689900"),
                ("ZADD", "turnd:secrets", "1735689900", "1735689900000-beef"), ("EXEC",),
                ("PUBLISH", "turnd:events", "secret-added 1735689900000-beef"))
            seeds["retire_secret"] = b"\x03" + r.run(
                ("MULTI",), ("ZREM", "turnd:secrets", "1735689600000-abcd"),
                ("DEL", "turnd:secret:1735689600000-abcd"), ("EXEC",))
            seeds["add_user"] = b"\x04" + r.run(
                ("MULTI",), ("DEL", f"turnd:user:{REALM}:alice"), good,
                ("EXPIRE", f"turnd:user:{REALM}:alice", "3600"), ("EXEC",),
                ("PUBLISH", "turnd:events", "user-added alice"))
            seeds["revoke_user"] = b"\x05" + r.run(("DEL", f"turnd:user:{REALM}:alice"),
                                                   ("PUBLISH", "turnd:events", "user-revoked alice"))
            seeds["publish"] = b"\x06" + r.run(("PUBLISH", "turnd:events", "user-revoked alice"))
            seeds["wrongtype"] = b"\x00" + r.run(("ZREVRANGE", f"turnd:user:{REALM}:string", "0",
                                                  "-1", "WITHSCORES"))
            sub = Redis(port)
            confirm = sub.run(("SUBSCRIBE", "turnd:events"))
            r.run(("PUBLISH", "turnd:events", "secret-added 1735689900000-beef"),
                  ("PUBLISH", "turnd:events", "user-revoked bob"),
                  ("PUBLISH", "turnd:events", "nonsense"))
            messages = b"".join(sub.read_reply() for _ in range(3))
            seeds["subscribe"] = b"\x07" + confirm + messages
        finally:
            server.terminate()
            server.wait(timeout=10)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (out / f"captured_{name}").write_bytes(data)


def capture_curl(out):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    key = "k-0123456789abcdef"
    requests = {
        "curl_credentials_header": ["-H", f"Authorization: Bearer {key}",
                                    f"http://127.0.0.1:{port}/api/v1/turn-credentials?service=turn&username=alice"],
        "curl_credentials_query": [f"http://127.0.0.1:{port}/api/v1/turn-credentials?service=turn&username=alice&key={key}"],
        "curl_metrics": [f"http://127.0.0.1:{port}/metrics"],
        "curl_post": ["-d", "x=1", f"http://127.0.0.1:{port}/healthz"],
    }
    for name, args in requests.items():
        got = []

        def serve():
            conn, _ = listener.accept()
            conn.settimeout(2)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(4096)
            head, _, body = data.partition(b"\r\n\r\n")
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    while len(body) < int(line.split(b":")[1]):
                        body += conn.recv(4096)
            data = head + b"\r\n\r\n" + body
            got.append(data)
            conn.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            conn.close()

        t = threading.Thread(target=serve)
        t.start()
        subprocess.run(["curl", "-s", "--noproxy", "*", "-m", "5", *args], check=False,
                       stdout=subprocess.DEVNULL)
        t.join(10)
        (out / name).write_bytes(b"\x07" + got[0])
    listener.close()


if __name__ == "__main__":
    capture_redis(HERE / "corpus" / "redis_reply")
    capture_curl(HERE / "corpus" / "admin_http")
