"""A throwaway redis-server for one test, and a minimal RESP client to poke at it.

RedisServer(port=None)  starts `redis-server --save '' --appendonly no --port P --bind 127.0.0.1`
                        on a free loopback port (procs.free_port), waits for PING, stops by PID.
RespClient(port)        call(*args) -> str | int | list | None | RespError; subscribe(channel)
                        and next_message(timeout) for pub/sub. Enough to write garbage on purpose
                        and to watch events, without depending on redis-py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import List, Optional

import _paths  # noqa: F401
import procs

REDIS_SERVER = os.environ.get("REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"


class RespError(Exception):
    pass


class RespClient:
    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, *args) -> None:
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(out))

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError(f"bad RESP line {line!r}")

    def call(self, *args):
        self.send(*args)
        return self.read()

    def subscribe(self, channel: str) -> None:
        assert self.call("SUBSCRIBE", channel)[0] == "subscribe"

    def next_message(self, timeout: float) -> Optional[str]:
        self.sock.settimeout(timeout)
        try:
            while True:
                m = self.read()
                if isinstance(m, list) and len(m) == 3 and m[0] == "message":
                    return m[2]
        except socket.timeout:
            return None
        finally:
            self.sock.settimeout(5.0)


class RedisServer:
    def __init__(self, port: Optional[int] = None, extra_args: List[str] = ()):
        self.port = port or procs.free_port("tcp")
        self.extra_args = list(extra_args)
        self.dir = tempfile.mkdtemp(prefix="turnd-redis-")
        self.proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        cmd = [REDIS_SERVER, "--save", "", "--appendonly", "no", "--port", str(self.port),
               "--bind", "127.0.0.1", "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")]
        self.proc = subprocess.Popen(cmd + self.extra_args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {self.log()}")
            try:
                with RespClient(self.port, timeout=0.5) as c:
                    r = c.call("PING")
                    if r == "PONG" or (isinstance(r, RespError) and "NOAUTH" in str(r)):
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer PING on port {self.port}")

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "redis.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def client(self) -> RespClient:
        return RespClient(self.port)

    def call(self, *args):
        with self.client() as c:
            return c.call(*args)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
