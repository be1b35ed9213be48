"""RFC 6062 TCP relaying for TurnClient: the data connection.

TurnClient (client.py) has the control-connection side: allocate(PROTO_TCP), connect(peer) ->
response with CONNECTION-ID, recv_connection_attempt(), and connection_bind(cid), which opens a
NEW connection to the same server address (TCP or TLS, same credentials and transport options),
sends ConnectionBind (answering a 401 challenge) and returns a DataConnection from here.

After a successful ConnectionBind the connection carries raw bytes: DataConnection gives the
socket (an ssl.SSLSocket over TLS) plus whatever bytes the server sent right behind the success
response (they were already read into the STUN framer). `exchange` sends and receives at the same
time from one thread (non-blocking, select), which also works over TLS, where one SSL object
must not be used by two threads at once.
"""

from __future__ import annotations

import select
import socket
import ssl
import struct
import time
from typing import Optional

from .codec import Message
from .transport import ConnectionClosed

CHUNK = 16384


class DataConnection:
    """A client data connection after ConnectionBind: raw bytes to and from the peer.

    ok / response   the ConnectionBind response (success or error; None: no answer, and
                    closed_by_server when the connection was closed or reset instead); on error
                    the connection is left as the server left it (tests check whether it closes)
    sock            the socket (plain or ssl.SSLSocket), blocking with timeouts
    """

    def __init__(self, client, response: Optional[Message]):
        self.client = client                 # the TurnClient that sent ConnectionBind
        self.response = response
        self.sock = client.transport.sock
        framer = client.transport.framer
        self._leftover = bytes(framer.buf)   # raw bytes read together with the response
        framer.buf.clear()
        self.closed = False
        self.closed_by_server = False        # the server closed it before answering

    @property
    def ok(self) -> bool:
        return self.response is not None and self.response.is_success

    @property
    def error_code(self) -> Optional[int]:
        return None if self.response is None else self.response.error_code

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def fileno(self) -> int:
        return self.sock.fileno()

    # --- blocking helpers ---
    def sendall(self, data: bytes, timeout: float = 10.0) -> None:
        self.sock.settimeout(timeout)
        self.sock.sendall(data)

    def recv(self, n: int = 65536, timeout: float = 5.0) -> Optional[bytes]:
        """Up to n bytes; b"" at EOF; None on timeout. A reset raises ConnectionClosed."""
        if self._leftover:
            out, self._leftover = self._leftover[:n], self._leftover[n:]
            return out
        self.sock.settimeout(max(timeout, 0.001))
        try:
            return self.sock.recv(n)
        except (socket.timeout, ssl.SSLWantReadError):
            return None
        except OSError as e:  # reset; a TLS error
            raise ConnectionClosed(str(e)) from e

    def recv_exact(self, n: int, timeout: float = 10.0) -> bytes:
        """Exactly n bytes; raises ConnectionClosed on EOF/reset and TimeoutError on timeout."""
        out = bytearray()
        deadline = time.monotonic() + timeout
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{len(out)} of {n} bytes within {timeout} s")
            got = self.recv(n - len(out), left)
            if got == b"":
                raise ConnectionClosed(f"EOF after {len(out)} of {n} bytes")
            if got:
                out += got
        return bytes(out)

    def wait_closed(self, timeout: float) -> bool:
        """True when the server closes the connection (EOF or reset) within timeout; data that
        arrives meanwhile is read and dropped."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                got = self.recv(65536, min(left, 0.5))
            except ConnectionClosed:
                return True
            if got == b"":
                return True

    def exchange(self, out: bytes, expect: int, timeout: float = 30.0) -> bytes:
        """Send `out` while receiving until `expect` bytes came (one thread, both directions at
        once); returns what came. TimeoutError / ConnectionClosed when it does not finish."""
        received = bytearray(self._leftover[:expect])
        self._leftover = self._leftover[expect:]
        duplex(self.sock, out, expect, timeout, received)
        return bytes(received)

    # --- closing ---
    def shutdown_write(self) -> None:
        """Half-close (FIN) on a plain TCP connection (TLS has no half-close in Python's ssl)."""
        self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.client.close()

    def abort(self) -> None:
        """Close with a reset (SO_LINGER 0)."""
        if not self.closed:
            set_linger_zero(self.sock)
            self.close()


def set_linger_zero(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def duplex(sock, out: bytes, expect: int, timeout: float, received: bytearray) -> None:
    """Write all of `out` to sock and read into `received` until it holds `expect` bytes, both at
    the same time, non-blocking, from one thread (plain or ssl.SSLSocket)."""
    deadline = time.monotonic() + timeout
    view = memoryview(out)
    sent = 0
    sock.setblocking(False)
    try:
        for _ in range(10_000_000):  # bounded: every round reads, writes or waits
            if sent >= len(view) and len(received) >= expect:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"sent {sent} of {len(view)}, received {len(received)} of "
                                   f"{expect} bytes within {timeout} s")
            want_read = len(received) < expect
            want_write = sent < len(view)
            if want_read and isinstance(sock, ssl.SSLSocket) and sock.pending() > 0:
                readable, writable = [sock], []
            else:
                readable, writable, _ = select.select([sock] if want_read else [],
                                                      [sock] if want_write else [], [],
                                                      min(left, 0.5))
            if readable:
                try:
                    got = sock.recv(min(65536, expect - len(received)))
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    got = None
                except OSError as e:
                    raise ConnectionClosed(f"{e} after {len(received)} of {expect} bytes") from e
                if got == b"":
                    raise ConnectionClosed(f"EOF after {len(received)} of {expect} bytes "
                                           f"(sent {sent})")
                if got:
                    received += got
            if writable:
                try:
                    sent += sock.send(view[sent:sent + CHUNK])
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
                except OSError as e:
                    raise ConnectionClosed(f"{e} after sending {sent} of {len(view)} bytes") from e
    finally:
        sock.setblocking(True)


__all__ = ["DataConnection", "duplex", "set_linger_zero"]
