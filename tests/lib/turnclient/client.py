"""STUN and TURN clients built on codec + transport.

StunClient: transactions (UDP/DTLS retransmission, TCP/TLS framing), Binding, RFC 3489 Binding, raw sends.
TurnClient: long-term credentials (RFC 8489 §9.2: 401 -> REALM/NONCE[/PASSWORD-ALGORITHMS],
MD5 or SHA-256 keys, USERHASH, 438 retry) and the TURN methods of RFC 8656. Every method returns
the parsed final response (success or error) so tests assert on error codes themselves.
RFC 6062 TCP relaying: allocate(PROTO_TCP), connect, recv_connection_attempt, connection_bind
(-> tcprelay.DataConnection).
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import os
import struct
import time
from typing import Callable, Deque, Iterable, List, Optional, Sequence, Tuple, Union

from . import codec
from .codec import (Address, Attr, AttrType, DecodeError, Message, ALG_MD5, ALG_SHA256,
                    NONCE_COOKIE)
from .transport import ConnectionClosed, TcpTransport, UdpTransport, make_transport

Frame = Tuple[str, bytes]
PeerLike = Union[Address, str]


def rest_credentials(secret: str, user: str = "user", ttl: int = 3600,
                     now: Optional[float] = None) -> Tuple[str, str]:
    """TURN REST API credentials: username "<expiry>:<user>", password
    base64(HMAC-SHA1(secret, username))."""
    expiry = int(now if now is not None else time.time()) + ttl
    username = f"{expiry}:{user}"
    password = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return username, password


def _peer(p: PeerLike, default_port: int = 9) -> Address:
    if isinstance(p, str):
        return (p, default_port)
    return (p[0], p[1])


class StunClient:
    """One client 5-tuple (a UDP socket or a TCP connection) talking to one server address."""

    def __init__(self, server: Address, transport: str = "udp", local_ip: Optional[str] = None,
                 software: Optional[str] = "turnd-tests", rto: float = 0.2, timeout: float = 3.0,
                 transport_options: Optional[dict] = None):
        """transport: "udp", "tcp", "tls" or "dtls"; transport_options (TLS/DTLS: cafile, alpn,
        server_hostname, ...) go to the transport's constructor (turnclient/secure.py)."""
        self.transport = make_transport(transport, server, local_ip, **(transport_options or {}))
        self.kind = transport
        self.local_ip = local_ip                          # kept for RFC 6062 data connections
        self.transport_options = dict(transport_options or {})
        self.software = software
        self.rto = rto
        self.timeout = timeout
        self.pending: Deque[Frame] = collections.deque(maxlen=100000)
        self.stray_responses: List[Message] = []

    # --- context manager ---
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.transport.close()

    @property
    def local_address(self) -> Address:
        return self.transport.local_address

    @property
    def server_address(self) -> Address:
        return self.transport.server_address

    @property
    def datagram(self) -> bool:
        """UDP or DTLS: requests are retransmitted, ChannelData is not padded."""
        return self.kind in ("udp", "dtls")

    # --- low level ---
    def send_raw(self, data: bytes) -> None:
        self.transport.send_raw(data)

    def recv_frame(self, timeout: float) -> Optional[Frame]:
        if self.pending:
            return self.pending.popleft()
        return self.transport.recv_frame(timeout)

    def _wait(self, timeout: float, match: Callable[[Frame], bool]) -> Optional[Frame]:
        """Next frame that `match`es: pending ones first, then from the wire; the others are kept
        in `pending` (indications, ChannelData) so nothing is lost."""
        for i, fr in enumerate(self.pending):
            if match(fr):
                del self.pending[i]
                return fr
        deadline = time.monotonic() + timeout
        for _ in range(100000):  # bounded: each round either returns or consumes one frame
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            fr = self.transport.recv_frame(left)
            if fr is None:
                return None
            if match(fr):
                return fr
            self.pending.append(fr)
        return None

    def _response_matcher(self, req: Message) -> Callable[[Frame], bool]:
        def match(fr: Frame) -> bool:
            if fr[0] != "stun":
                return False
            data = fr[1]
            if data[8:20] != req.tid or data[4:8] != struct.pack("!I", req.cookie):
                return False
            return (data[0] & 0x01) == 0x01  # C1 bit set: success or error response
        return match

    def transact_raw(self, req: Message, wire: bytes, timeout: Optional[float] = None,
                     retransmit: bool = True) -> Optional[Message]:
        """Send `wire` (an encoding of `req`) and wait for the response with req's transaction
        id. UDP retransmits (RTO doubling) until `timeout`. None on timeout."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        rto = self.rto
        match = self._response_matcher(req)
        self.transport.send_raw(wire)
        for _ in range(64):  # bounded number of retransmissions
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            wait = min(left, rto) if (self.datagram and retransmit) else left
            fr = self._wait(wait, match)
            if fr is not None:
                return Message.decode(fr[1])
            if self.datagram and retransmit and deadline - time.monotonic() > 0:
                self.transport.send_raw(wire)
                rto *= 2
        return None

    def transact(self, req: Message, timeout: Optional[float] = None, **encode_kw) -> Optional[Message]:
        return self.transact_raw(req, req.encode(**encode_kw), timeout)

    # --- Binding ---
    def binding_request(self, fingerprint: bool = True, attrs: Iterable[Attr] = ()) -> Message:
        m = Message(codec.BINDING, codec.REQUEST)
        if self.software:
            m.add(AttrType.SOFTWARE, self.software.encode())
        m.attrs.extend(attrs)
        return m

    def binding(self, fingerprint: bool = True, attrs: Iterable[Attr] = (),
                timeout: Optional[float] = None) -> Optional[Message]:
        return self.transact(self.binding_request(fingerprint, attrs), timeout, fingerprint=fingerprint)

    def binding_rfc3489(self, timeout: Optional[float] = None) -> Tuple[Message, Optional[Message]]:
        """RFC 3489 Binding: no magic cookie, 128-bit transaction id, no attributes."""
        cookie = struct.unpack("!I", os.urandom(4))[0]
        if cookie == codec.MAGIC_COOKIE:
            cookie ^= 1
        req = Message(codec.BINDING, codec.REQUEST, cookie=cookie)
        return req, self.transact(req, timeout)


class TurnClient(StunClient):
    """A TURN client on one 5-tuple, with long-term credentials.

    password_algorithm: "auto" (SHA-256 when the server offers it, else MD5), "md5", "sha256",
      or "legacy" (RFC 5389 style: MD5 key and no PASSWORD-ALGORITHM(S) attributes, as browsers do).
    integrity: None = MESSAGE-INTEGRITY-SHA256 with a SHA-256 key, MESSAGE-INTEGRITY otherwise;
      or "sha1" / "sha256" / "both".
    """

    def __init__(self, server: Address, transport: str = "udp", username: Optional[str] = None,
                 password: Optional[str] = None, password_algorithm: str = "auto",
                 integrity: Optional[str] = None, use_userhash: bool = False,
                 fingerprint: bool = True, **kw):
        super().__init__(server, transport, **kw)
        self.username = username
        self.password = password
        self.password_algorithm = password_algorithm
        self.integrity = integrity
        self.use_userhash = use_userhash
        self.fingerprint = fingerprint
        self.realm: Optional[str] = None
        self.nonce: Optional[str] = None
        self.server_algorithms: Optional[bytes] = None   # raw PASSWORD-ALGORITHMS from the server
        self.challenges: List[Message] = []              # every 401/438 seen
        self.relayed: List[Address] = []
        self.mapped: Optional[Address] = None
        self.lifetime: Optional[int] = None
        self.last_response: Optional[Message] = None

    # --- auth state ---
    @property
    def last_challenge(self) -> Optional[Message]:
        return self.challenges[-1] if self.challenges else None

    def _learn(self, resp: Message) -> None:
        if resp.realm is not None:
            self.realm = resp.realm
        if resp.nonce is not None:
            self.nonce = resp.nonce
        self.server_algorithms = resp.get(AttrType.PASSWORD_ALGORITHMS)

    def chosen_algorithm(self) -> Tuple[int, bool]:
        """-> (algorithm, send PASSWORD-ALGORITHM(S) attributes?)"""
        offered = []
        if self.server_algorithms is not None:
            offered = [a for a, _ in codec.decode_password_algorithms(self.server_algorithms)]
        mode = self.password_algorithm
        if mode == "legacy":
            return ALG_MD5, False
        if mode == "md5":
            return ALG_MD5, self.server_algorithms is not None
        if mode == "sha256":
            return ALG_SHA256, True
        # auto
        if self.server_algorithms is not None and self.nonce and self.nonce.startswith(NONCE_COOKIE):
            return (ALG_SHA256 if ALG_SHA256 in offered else ALG_MD5), True
        return ALG_MD5, False

    def key(self) -> bytes:
        alg, _ = self.chosen_algorithm()
        return codec.long_term_key(self.username or "", self.realm or "", self.password or "", alg)

    def integrity_mode(self) -> str:
        if self.integrity:
            return self.integrity
        alg, _ = self.chosen_algorithm()
        return "sha256" if alg == ALG_SHA256 else "sha1"

    def add_auth(self, m: Message) -> None:
        """Append USERNAME/USERHASH, REALM, NONCE and PASSWORD-ALGORITHM(S) to m."""
        alg, send_algs = self.chosen_algorithm()
        if self.use_userhash:
            m.add(AttrType.USERHASH, codec.userhash(self.username or "", self.realm or ""))
        else:
            m.add(AttrType.USERNAME, (self.username or "").encode())
        m.add(AttrType.REALM, (self.realm or "").encode())
        m.add(AttrType.NONCE, (self.nonce or "").encode())
        if send_algs:
            m.add(AttrType.PASSWORD_ALGORITHMS, self.server_algorithms
                  if self.server_algorithms is not None
                  else codec.encode_password_algorithms([(ALG_MD5, b""), (ALG_SHA256, b"")]))
            m.add(AttrType.PASSWORD_ALGORITHM, codec.encode_password_algorithm(alg))

    def build(self, method: int, attrs: Iterable[Attr] = (), authenticate: bool = True,
              tid: Optional[bytes] = None, cls: int = codec.REQUEST) -> Tuple[Message, bytes]:
        """Message and its wire bytes, authenticated with the current realm/nonce when asked."""
        m = Message(method, cls, tid=tid or codec.random_tid())
        for a in attrs:
            m.attrs.append(a if isinstance(a, Attr) else Attr(*a))
        if self.software and cls == codec.REQUEST:
            m.add(AttrType.SOFTWARE, self.software.encode())
        if authenticate and self.nonce is not None and self.username is not None:
            self.add_auth(m)
            return m, m.encode(key=self.key(), integrity=self.integrity_mode(), fingerprint=self.fingerprint)
        return m, m.encode(fingerprint=self.fingerprint)

    def verify_response(self, resp: Message) -> Optional[bool]:
        """Integrity of a response to an authenticated request: True/False, None if it has none."""
        key = self.key()
        results = [r for r in (resp.check_integrity(key), resp.check_integrity_sha256(key)) if r is not None]
        if not results:
            return None
        return all(results)

    def request(self, method: int, attrs: Iterable[Attr] = (), authenticate: bool = True,
                timeout: Optional[float] = None, max_challenges: int = 3) -> Optional[Message]:
        """Send a request; answer 401/438 challenges (bounded) and return the final response."""
        attrs = list(attrs)
        resp = None
        for _ in range(max_challenges + 1):
            req, wire = self.build(method, attrs, authenticate)
            authed = authenticate and self.nonce is not None and self.username is not None
            resp = self.transact_raw(req, wire, timeout)
            self.last_response = resp
            if resp is None or not resp.is_error or not authenticate:
                return resp
            code = resp.error_code
            if code == 438 or (code == 401 and not authed):
                self.challenges.append(resp)
                if resp.nonce is None:
                    return resp
                self._learn(resp)
                continue
            if code == 401:
                self.challenges.append(resp)
            return resp
        return resp

    # --- TURN methods ---
    def allocate(self, transport: int = codec.PROTO_UDP, family: Optional[int] = None,
                 additional_family: Optional[int] = None, even_port: Optional[bool] = None,
                 reservation_token: Optional[bytes] = None, dont_fragment: bool = False,
                 lifetime: Optional[int] = None, extra: Iterable[Attr] = (),
                 requested_transport: bool = True, timeout: Optional[float] = None) -> Optional[Message]:
        """even_port: None = absent, False = EVEN-PORT with R=0, True = with R=1 (reserve next)."""
        attrs: List[Attr] = []
        if requested_transport:
            attrs.append(Attr(AttrType.REQUESTED_TRANSPORT, codec.encode_requested_transport(transport)))
        if family is not None:
            attrs.append(Attr(AttrType.REQUESTED_ADDRESS_FAMILY, codec.encode_family(family)))
        if additional_family is not None:
            attrs.append(Attr(AttrType.ADDITIONAL_ADDRESS_FAMILY, codec.encode_family(additional_family)))
        if even_port is not None:
            attrs.append(Attr(AttrType.EVEN_PORT, codec.encode_even_port(even_port)))
        if reservation_token is not None:
            attrs.append(Attr(AttrType.RESERVATION_TOKEN, reservation_token))
        if dont_fragment:
            attrs.append(Attr(AttrType.DONT_FRAGMENT, b""))
        if lifetime is not None:
            attrs.append(Attr(AttrType.LIFETIME, codec.encode_u32(lifetime)))
        attrs.extend(extra)
        resp = self.request(codec.ALLOCATE, attrs, timeout=timeout)
        if resp is not None and resp.is_success:
            self.relayed = resp.xor_relayed_addresses
            self.mapped = resp.xor_mapped_address
            self.lifetime = resp.lifetime
        return resp

    def refresh(self, lifetime: Optional[int] = None, family: Optional[int] = None,
                extra: Iterable[Attr] = ()) -> Optional[Message]:
        attrs: List[Attr] = []
        if lifetime is not None:
            attrs.append(Attr(AttrType.LIFETIME, codec.encode_u32(lifetime)))
        if family is not None:
            attrs.append(Attr(AttrType.REQUESTED_ADDRESS_FAMILY, codec.encode_family(family)))
        attrs.extend(extra)
        resp = self.request(codec.REFRESH, attrs)
        if resp is not None and resp.is_success:
            self.lifetime = resp.lifetime
        return resp

    def _xor_peer_attr(self, tid_holder: Message, peer: PeerLike) -> Attr:
        return Attr(AttrType.XOR_PEER_ADDRESS, codec.encode_xor_address(_peer(peer), tid_holder.tid))

    def _request_with_peers(self, method: int, peers: Sequence[PeerLike], extra: Sequence[Attr]) -> Optional[Message]:
        # XOR-PEER-ADDRESS depends on the transaction id, which changes on each challenge retry:
        # encode the peers per attempt.
        attrs_fn = lambda tid: [Attr(AttrType.XOR_PEER_ADDRESS, codec.encode_xor_address(_peer(p), tid))
                                for p in peers] + list(extra)
        resp = None
        for _ in range(4):
            tid = codec.random_tid()
            req, wire = self.build(method, attrs_fn(tid), tid=tid)
            authed = self.nonce is not None and self.username is not None
            resp = self.transact_raw(req, wire)
            self.last_response = resp
            if resp is None or not resp.is_error:
                return resp
            code = resp.error_code
            if (code == 438 or (code == 401 and not authed)) and resp.nonce is not None:
                self.challenges.append(resp)
                self._learn(resp)
                continue
            return resp
        return resp

    def create_permission(self, peers: Sequence[PeerLike], extra: Sequence[Attr] = ()) -> Optional[Message]:
        return self._request_with_peers(codec.CREATE_PERMISSION, list(peers), extra)

    def channel_bind(self, channel: int, peer: PeerLike, extra: Sequence[Attr] = (),
                     with_number: bool = True, with_peer: bool = True) -> Optional[Message]:
        ext = ([Attr(AttrType.CHANNEL_NUMBER, codec.encode_channel_number(channel))] if with_number else [])
        return self._request_with_peers(codec.CHANNEL_BIND, [peer] if with_peer else [], ext + list(extra))

    def send_indication(self, peer: PeerLike, data: bytes, dont_fragment: bool = False,
                        extra: Sequence[Attr] = ()) -> None:
        m = Message(codec.SEND, codec.INDICATION)
        m.add_xor_address(AttrType.XOR_PEER_ADDRESS, _peer(peer))
        m.add(AttrType.DATA, data)
        if dont_fragment:
            m.add(AttrType.DONT_FRAGMENT, b"")
        m.attrs.extend(extra)
        self.transport.send_raw(m.encode(fingerprint=self.fingerprint))

    def recv_indication(self, method: int, timeout: float = 2.0) -> Optional[Message]:
        """Next indication of `method`; other frames stay pending. None on timeout."""
        def match(fr: Frame) -> bool:
            if fr[0] != "stun":
                return False
            try:
                m = Message.decode(fr[1])
            except DecodeError:
                return False
            return m.method == method and m.cls == codec.INDICATION
        fr = self._wait(timeout, match)
        return None if fr is None else Message.decode(fr[1])

    def recv_data_indication(self, timeout: float = 2.0) -> Optional[Message]:
        return self.recv_indication(codec.DATA, timeout)

    def recv_data(self, timeout: float = 2.0) -> Optional[Tuple[Address, bytes]]:
        """Next Data indication carrying DATA: (peer, data). Indications with only ICMP are
        skipped (bounded)."""
        deadline = time.monotonic() + timeout
        for _ in range(1000):
            m = self.recv_data_indication(max(0.0, deadline - time.monotonic()))
            if m is None:
                return None
            if m.data is not None:
                return m.xor_peer_address, m.data
        return None

    def send_channel_data(self, channel: int, data: bytes, pad: Optional[bool] = None) -> None:
        if pad is None:
            pad = not self.datagram  # RFC 8656 §12.5: padded over TCP and TLS
        self.transport.send_raw(codec.encode_channel_data(channel, data, pad=pad))

    def recv_channel_data(self, timeout: float = 2.0) -> Optional[Tuple[int, bytes]]:
        fr = self._wait(timeout, lambda f: f[0] == "channel")
        return None if fr is None else codec.decode_channel_data(fr[1])

    # --- RFC 6062 TCP relaying (data connections: tcprelay.py) ---
    def connect(self, peer: Optional[PeerLike], extra: Sequence[Attr] = ()) -> Optional[Message]:
        """Connect (RFC 6062 §4.3) to a peer over the TCP allocation; peer None sends no
        XOR-PEER-ADDRESS. The success response carries CONNECTION-ID (resp.connection_id)."""
        return self._request_with_peers(codec.CONNECT, [] if peer is None else [peer], extra)

    def recv_connection_attempt(self, timeout: float = 2.0) -> Optional[Message]:
        """Next ConnectionAttempt indication (RFC 6062 §4.4) on this control connection:
        m.xor_peer_address, m.connection_id; None on timeout. Other frames stay pending."""
        return self.recv_indication(codec.CONNECTION_ATTEMPT, timeout)

    def connection_bind(self, connection_id: Optional[int], extra: Sequence[Attr] = (),
                        username: Optional[str] = None, password: Optional[str] = None,
                        timeout: Optional[float] = None, fresh_challenge: bool = False):
        """ConnectionBind (RFC 6062 §4.4) on a NEW connection to the same server address, of the
        same kind (tcp/tls) with the same transport options and, unless given, credentials.
        The first request carries this client's realm and nonce (coturn 4.6.1 answers an
        unauthenticated ConnectionBind with a 401 on the control connection and closes the new
        one); fresh_challenge=True sends it without credentials first and answers the 401.
        connection_id None sends no CONNECTION-ID.
        Returns a tcprelay.DataConnection (its .ok / .response / .error_code); on success its
        socket carries raw bytes to and from the peer."""
        from .tcprelay import DataConnection
        data = TurnClient(self.server_address, self.kind,
                          username=self.username if username is None else username,
                          password=self.password if password is None else password,
                          password_algorithm=self.password_algorithm, integrity=self.integrity,
                          fingerprint=self.fingerprint, local_ip=self.local_ip,
                          software=self.software, timeout=self.timeout,
                          transport_options=self.transport_options)
        if not fresh_challenge:
            data.realm, data.nonce = self.realm, self.nonce
            data.server_algorithms = self.server_algorithms
        try:
            attrs = list(extra)
            if connection_id is not None:
                attrs.insert(0, Attr(AttrType.CONNECTION_ID, codec.encode_connection_id(connection_id)))
            resp = data.request(codec.CONNECTION_BIND, attrs, timeout=timeout)
        except ConnectionClosed:
            resp = None  # closed or reset instead of an answer: DataConnection.closed_by_server
            data.transport.framer.buf.clear()
            out = DataConnection(data, resp)
            out.closed_by_server = True
            return out
        except BaseException:
            data.close()
            raise
        return DataConnection(data, resp)

    def drain(self, timeout: float = 0.3) -> List[Frame]:
        """Everything that arrives within timeout (plus what is pending)."""
        out = list(self.pending)
        self.pending.clear()
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            fr = self.transport.recv_frame(left)
            if fr is None:
                break
            out.append(fr)
        return out


__all__ = ["StunClient", "TurnClient", "rest_credentials", "ConnectionClosed"]
