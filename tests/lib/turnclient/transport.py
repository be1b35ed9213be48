"""UDP and TCP transports for the STUN/TURN client (IPv4 and IPv6, loopback tests); TLS and DTLS
ones in secure.py.

Both expose the same small interface:
  send_stun(bytes) / send_raw(bytes)        one message / arbitrary bytes
  recv_frame(timeout) -> ("stun", bytes) | ("channel", bytes) | None
  local_address / server_address            (ip, port) tuples
  close()
UDP frames are whole datagrams (a datagram that is neither STUN nor ChannelData is returned as
("other", bytes)); TCP frames are cut from the stream by StreamFramer.
"""

from __future__ import annotations

import ipaddress
import select
import socket
import time
from typing import Optional, Tuple

from .codec import Address, DecodeError, StreamFramer, is_channel_data, looks_like_stun


def family_of(ip: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET


def sockaddr_to_address(sa) -> Address:
    return (str(ipaddress.ip_address(sa[0].split("%")[0])), sa[1])


def classify_datagram(data: bytes) -> Tuple[str, bytes]:
    """("stun" | "channel" | "other", data) of one datagram (or DTLS record)."""
    if looks_like_stun(data):
        return ("stun", data)
    if is_channel_data(data):
        return ("channel", data)
    return ("other", data)


def recv_before(sock: socket.socket, deadline: float):
    """(datagram, source) that arrives before the monotonic deadline, or None. An ICMP port
    unreachable from an earlier send (server gone or not ready yet) is skipped."""
    for _ in range(100000):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            return None
        try:
            return sock.recvfrom(65536)
        except ConnectionRefusedError:
            continue
    return None


class ConnectionClosed(Exception):
    pass


class UdpTransport:
    kind = "udp"

    def __init__(self, server: Address, local_ip: Optional[str] = None):
        self.server_address: Address = (str(ipaddress.ip_address(server[0])), server[1])
        fam = family_of(server[0])
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((local_ip or ("::1" if fam == socket.AF_INET6 else "127.0.0.1"), 0))
        self.local_address: Address = sockaddr_to_address(self.sock.getsockname())

    def send_raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server_address)

    send_stun = send_raw

    def recv_datagram(self, timeout: float) -> Optional[bytes]:
        deadline = time.monotonic() + timeout
        while True:
            got = recv_before(self.sock, deadline)
            if got is None:
                return None
            if sockaddr_to_address(got[1]) == self.server_address:
                return got[0]  # (datagrams from elsewhere are ignored)

    def recv_frame(self, timeout: float) -> Optional[Tuple[str, bytes]]:
        data = self.recv_datagram(timeout)
        return None if data is None else classify_datagram(data)

    def close(self) -> None:
        self.sock.close()


class TcpTransport:
    kind = "tcp"

    def __init__(self, server: Address, local_ip: Optional[str] = None, connect_timeout: float = 3.0,
                 channel_padding: bool = True):
        self.server_address: Address = (str(ipaddress.ip_address(server[0])), server[1])
        fam = family_of(server[0])
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if local_ip:
            self.sock.bind((local_ip, 0))
        self.sock.settimeout(connect_timeout)
        self.sock.connect(self.server_address)
        self.sock.settimeout(None)
        self.local_address: Address = sockaddr_to_address(self.sock.getsockname())
        self.framer = StreamFramer(channel_padding=channel_padding)
        self.closed = False

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    send_stun = send_raw

    def _fill(self, timeout: float) -> bool:
        """Read once. False on timeout; raises ConnectionClosed on EOF / reset."""
        if self.closed:
            raise ConnectionClosed("connection already closed")
        if not self._readable(timeout):
            return False
        try:
            data = self._recv(timeout)
        except OSError as e:  # reset, aborted; a TLS alert or bad record (ssl.SSLError)
            self.closed = True
            raise ConnectionClosed(str(e)) from e
        if data is None:
            return False
        if not data:
            self.closed = True
            raise ConnectionClosed("EOF")
        self.framer.feed(data)
        return True

    def _readable(self, timeout: float) -> bool:
        r, _, _ = select.select([self.sock], [], [], max(timeout, 0))
        return bool(r)

    def _recv(self, timeout: float) -> Optional[bytes]:
        """Bytes read (b"" at EOF); None when nothing came after all (TlsTransport)."""
        return self.sock.recv(65536)

    def recv_frame(self, timeout: float) -> Optional[Tuple[str, bytes]]:
        deadline = time.monotonic() + timeout
        while True:
            frame = self.framer.next_frame()
            if frame is not None:
                return frame
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._fill(left)

    def wait_closed(self, timeout: float) -> bool:
        """True when the server closes (EOF/reset) within timeout; data read meanwhile is kept."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self._fill(deadline - time.monotonic())
        except ConnectionClosed:
            return True
        return False

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            self.closed = True


def make_transport(kind: str, server: Address, local_ip: Optional[str] = None, **options):
    """kind "udp", "tcp", "tls" or "dtls"; options go to TlsTransport / DtlsTransport
    (turnclient/secure.py: cafile, alpn, context, server_hostname, session, handshake_timeout)."""
    if kind == "udp":
        return UdpTransport(server, local_ip)
    if kind == "tcp":
        return TcpTransport(server, local_ip)
    if kind in ("tls", "dtls"):
        from .secure import DtlsTransport, TlsTransport
        return (TlsTransport if kind == "tls" else DtlsTransport)(server, local_ip, **options)
    raise ValueError(f"unknown transport {kind!r}")


__all__ = ["UdpTransport", "TcpTransport", "ConnectionClosed", "make_transport", "family_of",
           "sockaddr_to_address", "DecodeError"]
