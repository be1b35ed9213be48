"""TLS and DTLS transports for the STUN/TURN client (RFC 8656 §3.1: TURN over TLS-over-TCP and
over DTLS-over-UDP), with the interface of transport.py's UdpTransport and TcpTransport.

TlsTransport   Python's ssl module around a TCP connection; frames cut from the decrypted
               stream by StreamFramer (ChannelData padded to 4 bytes, as over TCP).
DtlsTransport  DTLS 1.2 through pyOpenSSL (Debian's python3-openssl) on memory BIOs over a UDP
               socket; each record carries one STUN message or ChannelData (no padding), as a
               datagram would. Handshake flights are retransmitted with DTLSv1_handle_timeout.
               Records every handshake message type seen in clear (epoch 0), so a test can
               check that the server sent a HelloVerifyRequest.

Both verify the server certificate only when given `cafile` (then also its name against the
server address, or `server_hostname`); `alpn` is the list of protocols to offer; `sni` sends a
server name (TLS: `server_hostname`, which is also the name checked).
"""

from __future__ import annotations

import select
import socket
import ssl
import struct
import time
from typing import List, Optional, Sequence, Tuple

from .codec import Address
from .transport import (ConnectionClosed, TcpTransport, classify_datagram, family_of,
                        recv_before, sockaddr_to_address)

# DTLS handshake message types (RFC 6347 §4.3.2)
HELLO_VERIFY_REQUEST = 3
SERVER_HELLO = 2


def tls_client_context(cafile: Optional[str] = None, alpn: Optional[Sequence[str]] = None,
                       min_version: Optional[ssl.TLSVersion] = None,
                       max_version: Optional[ssl.TLSVersion] = None,
                       ciphers: Optional[str] = None) -> ssl.SSLContext:
    """A client context; without cafile it does not verify the server (self-signed test certs).
    Versions below TLS 1.2 also need ciphers "DEFAULT@SECLEVEL=0" to send a ClientHello."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        ctx.load_verify_locations(cafile)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    if ciphers:
        ctx.set_ciphers(ciphers)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


class TlsTransport(TcpTransport):
    """TURN over TLS. `context` overrides cafile/alpn. Attributes after the handshake:
    version ("TLSv1.3"), cipher, alpn (selected protocol or None), peer_cert (DER),
    session_reused."""

    kind = "tls"

    def __init__(self, server: Address, local_ip: Optional[str] = None, connect_timeout: float = 3.0,
                 channel_padding: bool = True, context: Optional[ssl.SSLContext] = None,
                 cafile: Optional[str] = None, alpn: Optional[Sequence[str]] = None,
                 server_hostname: Optional[str] = None, session: Optional[ssl.SSLSession] = None,
                 handshake_timeout: float = 5.0):
        super().__init__(server, local_ip, connect_timeout, channel_padding)
        ctx = context or tls_client_context(cafile, alpn)
        raw = self.sock
        raw.settimeout(handshake_timeout)
        hostname = server_hostname
        if hostname is None and ctx.check_hostname:
            hostname = self.server_address[0]
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname=hostname, session=session)
        except BaseException:
            raw.close()
            self.closed = True
            raise
        self.version = self.sock.version()
        self.cipher = self.sock.cipher()
        self.alpn = self.sock.selected_alpn_protocol()
        self.peer_cert = self.sock.getpeercert(binary_form=True)
        self.session_reused = self.sock.session_reused

    @property
    def session(self) -> Optional[ssl.SSLSession]:
        return self.sock.session

    def send_raw(self, data: bytes, timeout: float = 5.0) -> None:
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError) as e:
            self.closed = True
            raise ConnectionClosed(str(e)) from e

    send_stun = send_raw

    def _readable(self, timeout: float) -> bool:
        return self.sock.pending() > 0 or super()._readable(timeout)

    def _recv(self, timeout: float) -> Optional[bytes]:
        """Decrypted bytes; None when the record held no application data (a TLS 1.3 session
        ticket) or only part of a record came in time. A close_notify reads as b"" (EOF)."""
        self.sock.settimeout(max(timeout, 0.01))
        try:
            return self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return None


class DtlsHandshakeError(Exception):
    pass


def handshake_types(datagram: bytes) -> List[int]:
    """Handshake message types of the records of epoch 0 (cleartext) in a DTLS datagram."""
    out = []
    pos = 0
    while pos + 13 <= len(datagram):
        ctype, _ver, epoch = struct.unpack("!BHH", datagram[pos:pos + 5])
        length = struct.unpack("!H", datagram[pos + 11:pos + 13])[0]
        body = datagram[pos + 13:pos + 13 + length]
        if ctype == 22 and epoch == 0 and body:
            out.append(body[0])
        pos += 13 + length
    return out


def dtls_client_hello(alpn: Optional[Sequence[str]] = None) -> bytes:
    """The first datagram a DTLS 1.2 client sends (a ClientHello without cookie)."""
    conn = dtls_client_connection(None, alpn)
    dtls_step(conn)
    return dtls_output(conn)


def dtls_client_connection(cafile: Optional[str] = None, alpn: Optional[Sequence[str]] = None):
    """A pyOpenSSL DTLS 1.2 client connection on memory BIOs: drive it with dtls_step, send
    what dtls_output returns, feed replies with conn.bio_write (for tests that stop halfway)."""
    from OpenSSL import SSL  # python3-openssl; imported here so TLS-only users need none
    ctx = SSL.Context(SSL.DTLS_CLIENT_METHOD)
    ctx.set_min_proto_version(0xFEFD)  # DTLS 1.2 (pyOpenSSL 23 names no DTLS1_2_VERSION)
    if cafile:
        ctx.load_verify_locations(cafile)
        ctx.set_verify(SSL.VERIFY_PEER, lambda *a: a[-1])
    else:
        ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
    conn = SSL.Connection(ctx, None)
    conn.set_connect_state()
    if alpn:
        conn.set_alpn_protos([p.encode() for p in alpn])
    return conn


def dtls_step(conn) -> bool:
    """One do_handshake; True when done."""
    from OpenSSL import SSL
    try:
        conn.do_handshake()
        return True
    except SSL.WantReadError:
        return False


def dtls_output(conn) -> bytes:
    """Everything the connection wrote to its memory BIO."""
    from OpenSSL import SSL
    out = b""
    for _ in range(1000):
        try:
            out += conn.bio_read(65536)
        except SSL.WantReadError:
            break
    return out


class DtlsTransport:
    """TURN over DTLS 1.2 on one UDP socket connected to the server."""

    kind = "dtls"

    def __init__(self, server: Address, local_ip: Optional[str] = None,
                 cafile: Optional[str] = None, alpn: Optional[Sequence[str]] = None,
                 handshake_timeout: float = 5.0):
        from OpenSSL import SSL
        from OpenSSL._util import lib as ssl_lib
        self._SSL, self._lib = SSL, ssl_lib
        self.server_address: Address = (server[0], server[1])
        fam = family_of(server[0])
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((local_ip or ("::1" if fam == socket.AF_INET6 else "127.0.0.1"), 0))
        self.sock.connect(self.server_address)
        self.local_address: Address = sockaddr_to_address(self.sock.getsockname())
        self.closed = False
        self.received_handshake_types: List[int] = []   # cleartext handshake messages seen
        self.datagrams_sent = 0
        self.conn = dtls_client_connection(cafile, alpn)
        try:
            self._handshake(handshake_timeout)
        except BaseException:
            self.sock.close()
            raise
        self.version = self.conn.get_protocol_version_name()
        self.cipher = self.conn.get_cipher_name()
        alpn_got = self.conn.get_alpn_proto_negotiated()
        self.alpn = alpn_got.decode() if alpn_got else None
        cert = self.conn.get_peer_certificate()
        self.peer_cert = cert.to_cryptography().public_bytes(_der()) if cert is not None else None

    @property
    def hello_verify_requested(self) -> bool:
        return HELLO_VERIFY_REQUEST in self.received_handshake_types

    def _flush(self) -> None:
        out = dtls_output(self.conn)
        if out:
            self.sock.send(out)
            self.datagrams_sent += 1

    def _handshake(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for _ in range(10000):  # bounded: each round waits for a datagram or a retransmit timer
            try:
                done = dtls_step(self.conn)
            except self._SSL.Error as e:
                self._flush()  # an alert, if any
                raise DtlsHandshakeError(f"DTLS handshake failed: {e}") from e
            self._flush()
            if done:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([self.sock], [], [], min(left, 0.5))
            if not r:
                self._lib.DTLSv1_handle_timeout(self.conn._ssl)  # retransmit the last flight
                self._flush()
                continue
            try:
                data = self.sock.recv(65536)
            except ConnectionRefusedError as e:
                raise DtlsHandshakeError("ICMP port unreachable: nothing listens for DTLS") from e
            self.received_handshake_types += handshake_types(data)
            self.conn.bio_write(data)
        raise DtlsHandshakeError(f"DTLS handshake not done within {timeout} s "
                                 f"(handshake messages seen: {self.received_handshake_types})")

    def send_raw(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionClosed("DTLS session closed")
        self.conn.send(data)
        self._flush()

    send_stun = send_raw

    def recv_datagram(self, timeout: float) -> Optional[bytes]:
        """Application data of the next record; None on timeout. A close_notify or a fatal
        alert raises ConnectionClosed."""
        SSL = self._SSL
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            try:
                return self.conn.recv(65536)
            except SSL.WantReadError:
                pass
            except SSL.ZeroReturnError as e:
                self.closed = True
                raise ConnectionClosed("close_notify") from e
            except SSL.Error as e:
                self.closed = True
                raise ConnectionClosed(f"DTLS error: {e}") from e
            got = recv_before(self.sock, deadline)
            if got is None:
                return None
            self.conn.bio_write(got[0])
            self._flush()  # a renegotiation or alert reply, if any
        return None

    def recv_frame(self, timeout: float) -> Optional[Tuple[str, bytes]]:
        data = self.recv_datagram(timeout)
        return None if data is None else classify_datagram(data)

    def close(self, notify: bool = True) -> None:
        if not self.closed and notify:
            try:
                self.conn.shutdown()
                self._flush()
            except Exception:  # noqa: BLE001 - best effort on an already broken session
                pass
        self.closed = True
        self.sock.close()


def _der():
    from cryptography.hazmat.primitives.serialization import Encoding
    return Encoding.DER


__all__ = ["TlsTransport", "DtlsTransport", "DtlsHandshakeError", "tls_client_context",
           "dtls_client_hello", "dtls_client_connection", "dtls_step", "dtls_output",
           "handshake_types", "HELLO_VERIFY_REQUEST"]
