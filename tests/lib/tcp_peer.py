"""A TCP peer on loopback for the RFC 6062 (TCP relaying) tests: listeners that accept the
connections a TURN server opens on a client's behalf (Connect), one thread per connection.

    peer = TcpPeer("echo")               # or "exchange", "sink", "source", "stall"
    peer.address                         # (ip, port) of the first listener
    conn = peer.wait_connection()        # a PeerConnection: sock, remote, closed (Event), reset
    peer.close()                         # closes listeners and connections (threads end)

Modes (what each accepted connection does):
  echo      sends back what it reads, until EOF
  exchange  sends `payload` while reading until `expect` bytes came (both at once), keeps what
            came in conn.received, then waits for EOF
  sink      reads and counts (conn.count, conn.digest), never writes
  source    writes `payload` over and over (never reads) until the connection fails or
            `source_limit` bytes went out
  stall     accepts, never reads or writes (conn.closed tells when the other side is gone only
            after the test reads; use it for connections that must stay open)
  reset     reads until `expect` bytes came, then closes with a reset (SO_LINGER 0)
Connections opened by the test itself (an active peer connecting to a relayed address) are
plain sockets; peer_connect() makes one and PeerConnection.watch() follows it.

Every loop is bounded in time (`lifetime`, default 120 s), and close() ends every thread.
"""

from __future__ import annotations

import hashlib
import select
import socket
import struct
import threading
import time
from typing import List, Optional, Sequence, Tuple

Address = Tuple[str, int]


class PeerConnection:
    """One accepted (or watched) peer connection and what happened on it."""

    def __init__(self, sock: socket.socket, remote: Address):
        self.sock = sock
        self.remote = remote
        self.local: Address = sock.getsockname()[:2]
        self.received = bytearray()
        self.count = 0
        self.sent = 0
        self._hash = hashlib.sha256()
        self.closed = threading.Event()   # EOF or reset seen (or the peer closed it)
        self.reset = False                # the close was a reset
        self.error: Optional[str] = None
        self.done = threading.Event()     # the mode's work (exchange) is complete

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()

    def _got(self, data: bytes, keep: bool) -> None:
        self.count += len(data)
        self._hash.update(data)
        if keep:
            self.received += data

    def read_until_closed(self, deadline: float, keep: bool = False) -> None:
        """Read (and count) until EOF, reset or deadline."""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.sock], [], [], 0.2)
            if not r:
                continue
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                self.reset = True
                break
            except OSError as e:  # closed by close() meanwhile
                self.error = str(e)
                break
            if not data:
                break
            self._got(data, keep)
        else:
            return
        self.closed.set()
        # Close our end too: a socket left in CLOSE_WAIT would refuse the server's next
        # connection over the same address pair (a Connect from the same relayed address).
        try:
            self.sock.close()
        except OSError:
            pass

    def wait_closed(self, timeout: float) -> bool:
        return self.closed.wait(timeout)

    def watch(self, lifetime: float = 120.0, keep: bool = True) -> "PeerConnection":
        """Read in a thread until the connection closes (for sockets the test opened)."""
        threading.Thread(target=self.read_until_closed, args=(time.monotonic() + lifetime, keep),
                         daemon=True).start()
        return self

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.sent += len(data)

    def abort(self) -> None:
        """Close with a reset (SO_LINGER 0)."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.sock.close()

    def close(self) -> None:
        self.sock.close()


def peer_connect(address: Address, timeout: float = 3.0, source_ip: Optional[str] = None) -> PeerConnection:
    """An active peer: a TCP connection from loopback to `address` (a relayed address)."""
    fam = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if source_ip:
        s.bind((source_ip, 0))
    s.settimeout(timeout)
    try:
        s.connect(address)
    except BaseException:
        s.close()
        raise
    s.settimeout(None)
    return PeerConnection(s, address)


class TcpPeer:
    """Listeners on `host` (ephemeral ports, or `port` for a single one), `listeners` of them,
    each accepting connections that run `mode` (see the module doc)."""

    def __init__(self, mode: str = "echo", host: str = "127.0.0.1", listeners: int = 1,
                 payload: bytes = b"", expect: int = 0, source_limit: int = 1 << 30,
                 backlog: int = 128, accept: bool = True, lifetime: float = 120.0,
                 port: int = 0):
        if mode not in ("echo", "exchange", "sink", "source", "stall", "reset"):
            raise ValueError(mode)
        self.mode, self.payload, self.expect = mode, payload, expect
        self.source_limit = source_limit
        self.lifetime = lifetime
        self.deadline = time.monotonic() + lifetime
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listen_socks: List[socket.socket] = []
        for _ in range(listeners):
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port if listeners == 1 else 0))
            s.listen(backlog)
            self.listen_socks.append(s)
        self.addresses: List[Address] = [s.getsockname()[:2] for s in self.listen_socks]
        self.connections: List[PeerConnection] = []
        self._cond = threading.Condition()
        self._stop = False
        if accept:
            self._thread = threading.Thread(target=self._accept_loop, daemon=True)
            self._thread.start()

    @property
    def address(self) -> Address:
        return self.addresses[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _accept_loop(self) -> None:
        while not self._stop and time.monotonic() < self.deadline:
            try:
                r, _, _ = select.select(self.listen_socks, [], [], 0.2)
            except (OSError, ValueError):
                return
            for ls in r:
                try:
                    s, remote = ls.accept()
                except OSError:
                    continue
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn = PeerConnection(s, remote[:2])
                with self._cond:
                    self.connections.append(conn)
                    self._cond.notify_all()
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: PeerConnection) -> None:
        try:
            getattr(self, "_mode_" + self.mode)(conn)
        except OSError as e:
            conn.error = str(e)
            if isinstance(e, ConnectionResetError):
                conn.reset = True
            conn.closed.set()

    def _mode_echo(self, conn: PeerConnection) -> None:
        while time.monotonic() < self.deadline and not self._stop:
            r, _, _ = select.select([conn.sock], [], [], 0.2)
            if not r:
                continue
            data = conn.sock.recv(65536)
            if not data:
                conn.closed.set()
                conn.sock.close()
                return
            conn._got(data, False)
            conn.sendall(data)

    def _mode_exchange(self, conn: PeerConnection) -> None:
        from turnclient.tcprelay import duplex
        got = bytearray()
        duplex(conn.sock, self.payload, self.expect, max(1.0, self.deadline - time.monotonic()), got)
        conn._got(bytes(got), True)
        conn.sent = len(self.payload)
        conn.done.set()
        conn.read_until_closed(self.deadline)

    def _mode_sink(self, conn: PeerConnection) -> None:
        conn.read_until_closed(self.deadline)

    def _mode_source(self, conn: PeerConnection) -> None:
        chunk = self.payload or b"\xa5" * 65536
        conn.sock.settimeout(0.5)
        while conn.sent < self.source_limit and not self._stop and time.monotonic() < self.deadline:
            try:
                conn.sent += conn.sock.send(chunk)
            except socket.timeout:
                continue
        conn.done.set()

    def _mode_stall(self, conn: PeerConnection) -> None:
        return

    def _mode_reset(self, conn: PeerConnection) -> None:
        while conn.count < self.expect and time.monotonic() < self.deadline and not self._stop:
            r, _, _ = select.select([conn.sock], [], [], 0.2)
            if r:
                data = conn.sock.recv(65536)
                if not data:
                    break
                conn._got(data, False)
        conn.done.set()
        conn.abort()
        conn.closed.set()

    def wait_connections(self, n: int, timeout: float = 5.0) -> List[PeerConnection]:
        """The first n accepted connections (fewer if they do not come within timeout)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.connections) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return list(self.connections[:n])

    def wait_connection(self, timeout: float = 5.0) -> Optional[PeerConnection]:
        got = self.wait_connections(1, timeout)
        return got[0] if got else None

    def close(self) -> None:
        self._stop = True
        for s in self.listen_socks:
            s.close()
        with self._cond:
            conns = list(self.connections)
        for c in conns:
            try:
                c.sock.close()
            except OSError:
                pass


def fill_backlog(address: Address) -> List[socket.socket]:
    """Make a listener that never accepts (TcpPeer(accept=False, backlog=0)) drop further SYNs:
    fill its accept queue with our own connections. Connects to it then hang (no answer)."""
    held = []
    fam = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    for _ in range(4):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(address)
        except BlockingIOError:
            pass
        held.append(s)
    time.sleep(0.2)
    return held


def main(argv=None) -> int:
    """python3 tcp_peer.py --mode echo --host IP --port N [--expect N] [--lifetime S]: a peer
    process (network-namespace tests start it inside a namespace). Prints "ready" once it
    listens and one line per connection when it ends; exits after --lifetime or on SIGTERM."""
    import argparse
    import signal
    import sys
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="echo")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--expect", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=60.0)
    a = ap.parse_args(argv)
    peer = TcpPeer(a.mode, host=a.host, expect=a.expect, lifetime=a.lifetime, port=a.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready %s %d" % peer.address, flush=True)
    stop.wait(a.lifetime)
    for c in list(peer.connections):
        print("connection from %s:%d got %d bytes%s" % (c.remote[0], c.remote[1], c.count,
                                                       ", reset" if c.reset else ""), flush=True)
    peer.close()
    sys.stdout.flush()
    return 0


__all__ = ["TcpPeer", "PeerConnection", "peer_connect", "fill_backlog"]

if __name__ == "__main__":
    raise SystemExit(main())
