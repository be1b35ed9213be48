"""STUN (RFC 8489, RFC 3489 compatibility) and TURN (RFC 8656) message codec.

Pure standard library. A `Message` is a method, a class, a transaction id and an ordered list of
`Attr` (type, value bytes). Typed helpers build and read the attribute values; `Message.encode`
adds MESSAGE-INTEGRITY / MESSAGE-INTEGRITY-SHA256 / FINGERPRINT when asked. Every field can be
overridden for negative tests (declared attribute length, padding bytes, header length, raw
trailing bytes), so malformed messages are built with the same code as good ones.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence, Tuple, Union

MAGIC_COOKIE = 0x2112A442
MAGIC_BYTES = struct.pack("!I", MAGIC_COOKIE)
HEADER_LEN = 20
FINGERPRINT_XOR = 0x5354554E
NONCE_COOKIE = "obMatJos2"  # RFC 8489 §9.2: nonce prefix announcing the security feature set

# --- methods -------------------------------------------------------------------------------------
BINDING = 0x001
ALLOCATE = 0x003
REFRESH = 0x004
SEND = 0x006
DATA = 0x007
CREATE_PERMISSION = 0x008
CHANNEL_BIND = 0x009
CONNECT = 0x00A              # RFC 6062 TCP relaying
CONNECTION_BIND = 0x00B
CONNECTION_ATTEMPT = 0x00C   # an indication

METHOD_NAMES = {
    BINDING: "Binding", ALLOCATE: "Allocate", REFRESH: "Refresh", SEND: "Send", DATA: "Data",
    CREATE_PERMISSION: "CreatePermission", CHANNEL_BIND: "ChannelBind", CONNECT: "Connect",
    CONNECTION_BIND: "ConnectionBind", CONNECTION_ATTEMPT: "ConnectionAttempt",
}

# --- classes -------------------------------------------------------------------------------------
REQUEST = 0
INDICATION = 1
SUCCESS = 2
ERROR = 3
CLASS_NAMES = {REQUEST: "request", INDICATION: "indication", SUCCESS: "success", ERROR: "error"}


class AttrType:
    """Attribute type codes (IANA STUN registry)."""
    MAPPED_ADDRESS = 0x0001
    RESPONSE_ADDRESS = 0x0002          # RFC 3489
    CHANGE_REQUEST = 0x0003            # RFC 5780
    SOURCE_ADDRESS = 0x0004            # RFC 3489
    CHANGED_ADDRESS = 0x0005           # RFC 3489
    USERNAME = 0x0006
    MESSAGE_INTEGRITY = 0x0008
    ERROR_CODE = 0x0009
    UNKNOWN_ATTRIBUTES = 0x000A
    CHANNEL_NUMBER = 0x000C
    LIFETIME = 0x000D
    XOR_PEER_ADDRESS = 0x0012
    DATA = 0x0013
    REALM = 0x0014
    NONCE = 0x0015
    XOR_RELAYED_ADDRESS = 0x0016
    REQUESTED_ADDRESS_FAMILY = 0x0017
    EVEN_PORT = 0x0018
    REQUESTED_TRANSPORT = 0x0019
    DONT_FRAGMENT = 0x001A
    MESSAGE_INTEGRITY_SHA256 = 0x001C
    PASSWORD_ALGORITHM = 0x001D
    USERHASH = 0x001E
    XOR_MAPPED_ADDRESS = 0x0020
    RESERVATION_TOKEN = 0x0022
    CONNECTION_ID = 0x002A             # RFC 6062
    PRIORITY = 0x0024
    USE_CANDIDATE = 0x0025
    PADDING = 0x0026
    RESPONSE_PORT = 0x0027
    ADDITIONAL_ADDRESS_FAMILY = 0x8000
    ADDRESS_ERROR_CODE = 0x8001
    PASSWORD_ALGORITHMS = 0x8002
    ALTERNATE_DOMAIN = 0x8003
    ICMP = 0x8004
    SOFTWARE = 0x8022
    ALTERNATE_SERVER = 0x8023
    FINGERPRINT = 0x8028
    ICE_CONTROLLED = 0x8029
    ICE_CONTROLLING = 0x802A
    RESPONSE_ORIGIN = 0x802B
    OTHER_ADDRESS = 0x802C


ATTR_NAMES = {v: k for k, v in vars(AttrType).items() if not k.startswith("_")}

# address families (STUN encoding)
FAMILY_V4 = 0x01
FAMILY_V6 = 0x02

# REQUESTED-TRANSPORT protocol numbers
PROTO_UDP = 17
PROTO_TCP = 6

# PASSWORD-ALGORITHM values (RFC 8489 §18.5)
ALG_MD5 = 0x0001
ALG_SHA256 = 0x0002

Address = Tuple[str, int]


class DecodeError(ValueError):
    pass


def is_comprehension_required(attr_type: int) -> bool:
    return attr_type < 0x8000


def pad4(n: int) -> int:
    return (n + 3) & ~3


def random_tid() -> bytes:
    return os.urandom(12)


def method_class_to_type(method: int, cls: int) -> int:
    return ((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2)
            | ((cls & 0x1) << 4) | ((cls & 0x2) << 7))


def type_to_method_class(msg_type: int) -> Tuple[int, int]:
    method = (msg_type & 0x000F) | ((msg_type & 0x00E0) >> 1) | ((msg_type & 0x3E00) >> 2)
    cls = ((msg_type & 0x0010) >> 4) | ((msg_type & 0x0100) >> 7)
    return method, cls


def normalize_ip(ip: str) -> str:
    return str(ipaddress.ip_address(ip))


# --- attribute value helpers ---------------------------------------------------------------------

def encode_address(addr: Address) -> bytes:
    ip = ipaddress.ip_address(addr[0])
    fam = FAMILY_V4 if ip.version == 4 else FAMILY_V6
    return struct.pack("!BBH", 0, fam, addr[1]) + ip.packed


def decode_address(value: bytes) -> Address:
    if len(value) < 4:
        raise DecodeError("address attribute too short")
    _, fam, port = struct.unpack("!BBH", value[:4])
    if fam == FAMILY_V4 and len(value) == 8:
        return (str(ipaddress.IPv4Address(value[4:8])), port)
    if fam == FAMILY_V6 and len(value) == 20:
        return (str(ipaddress.IPv6Address(value[4:20])), port)
    raise DecodeError(f"bad address family {fam} / length {len(value)}")


def _xor_bytes(data: bytes, key: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, key))


def encode_xor_address(addr: Address, tid: bytes) -> bytes:
    ip = ipaddress.ip_address(addr[0])
    fam = FAMILY_V4 if ip.version == 4 else FAMILY_V6
    xport = addr[1] ^ (MAGIC_COOKIE >> 16)
    xaddr = _xor_bytes(ip.packed, MAGIC_BYTES + tid)
    return struct.pack("!BBH", 0, fam, xport) + xaddr


def decode_xor_address(value: bytes, tid: bytes) -> Address:
    if len(value) < 4:
        raise DecodeError("xor address attribute too short")
    _, fam, xport = struct.unpack("!BBH", value[:4])
    port = xport ^ (MAGIC_COOKIE >> 16)
    raw = value[4:]
    if fam == FAMILY_V4 and len(raw) == 4:
        return (str(ipaddress.IPv4Address(_xor_bytes(raw, MAGIC_BYTES))), port)
    if fam == FAMILY_V6 and len(raw) == 16:
        return (str(ipaddress.IPv6Address(_xor_bytes(raw, MAGIC_BYTES + tid))), port)
    raise DecodeError(f"bad xor address family {fam} / length {len(raw)}")


def encode_error_code(code: int, reason: str = "") -> bytes:
    return struct.pack("!HBB", 0, code // 100, code % 100) + reason.encode()


def decode_error_code(value: bytes) -> Tuple[int, str]:
    if len(value) < 4:
        raise DecodeError("ERROR-CODE too short")
    cls = value[2] & 0x07
    num = value[3]
    return cls * 100 + num, value[4:].decode("utf-8", "replace")


def encode_address_error_code(family: int, code: int, reason: str = "") -> bytes:
    return struct.pack("!BBBB", family, 0, code // 100, code % 100) + reason.encode()


def decode_address_error_code(value: bytes) -> Tuple[int, int, str]:
    """-> (family, code, reason)"""
    if len(value) < 4:
        raise DecodeError("ADDRESS-ERROR-CODE too short")
    return value[0], (value[2] & 0x07) * 100 + value[3], value[4:].decode("utf-8", "replace")


def encode_unknown_attributes(types: Sequence[int]) -> bytes:
    return b"".join(struct.pack("!H", t) for t in types)


def decode_unknown_attributes(value: bytes) -> List[int]:
    return [struct.unpack("!H", value[i:i + 2])[0] for i in range(0, len(value) - 1, 2)]


def encode_u32(v: int) -> bytes:
    return struct.pack("!I", v)


def encode_family(family: int) -> bytes:
    return struct.pack("!B3x", family)


def encode_requested_transport(proto: int = PROTO_UDP) -> bytes:
    return struct.pack("!B3x", proto)


def encode_connection_id(cid: int) -> bytes:
    return struct.pack("!I", cid)


def encode_channel_number(ch: int) -> bytes:
    return struct.pack("!HH", ch, 0)


def encode_even_port(reserve: bool) -> bytes:
    return bytes([0x80 if reserve else 0x00])


def encode_password_algorithm(alg: int, params: bytes = b"") -> bytes:
    return struct.pack("!HH", alg, len(params)) + params + b"\0" * (pad4(len(params)) - len(params))


def decode_password_algorithms(value: bytes) -> List[Tuple[int, bytes]]:
    out = []
    off = 0
    while off + 4 <= len(value):
        alg, plen = struct.unpack("!HH", value[off:off + 4])
        out.append((alg, value[off + 4:off + 4 + plen]))
        off += 4 + pad4(plen)
    return out


def encode_password_algorithms(algs: Sequence[Tuple[int, bytes]]) -> bytes:
    return b"".join(encode_password_algorithm(a, p) for a, p in algs)


# --- keys ----------------------------------------------------------------------------------------

def long_term_key(username: str, realm: str, password: str, algorithm: int = ALG_MD5) -> bytes:
    """RFC 8489 §9.2.2 key = H(username ":" OpaqueString(realm) ":" OpaqueString(password)).
    (OpaqueString / SASLprep is the identity for the ASCII and NFC inputs used by the tests.)"""
    s = f"{username}:{realm}:{password}".encode("utf-8")
    if algorithm == ALG_MD5:
        return hashlib.md5(s).digest()
    if algorithm == ALG_SHA256:
        return hashlib.sha256(s).digest()
    raise ValueError(f"unknown password algorithm {algorithm}")


def short_term_key(password: str) -> bytes:
    return password.encode("utf-8")


def userhash(username: str, realm: str) -> bytes:
    """RFC 8489 §14.4: SHA-256(OpaqueString(username) ":" OpaqueString(realm))."""
    return hashlib.sha256(f"{username}:{realm}".encode("utf-8")).digest()


def security_features(nonce: Optional[str]) -> Optional[int]:
    """RFC 8489 §9.2: the 24-bit STUN Security Feature set of a nonce that starts with the nonce
    cookie (None otherwise). Bit 23 (MSB) = password algorithms, bit 22 = username anonymity."""
    import base64
    if not nonce or not nonce.startswith(NONCE_COOKIE) or len(nonce) < len(NONCE_COOKIE) + 4:
        return None
    try:
        raw = base64.b64decode(nonce[len(NONCE_COOKIE):len(NONCE_COOKIE) + 4], validate=True)
    except ValueError:
        return None
    return int.from_bytes(raw, "big")


FEATURE_PASSWORD_ALGORITHMS = 1 << 23
FEATURE_USERNAME_ANONYMITY = 1 << 22


def fingerprint_of(data: bytes) -> int:
    return (zlib.crc32(data) & 0xFFFFFFFF) ^ FINGERPRINT_XOR


# --- message -------------------------------------------------------------------------------------

@dataclass
class Attr:
    type: int
    value: bytes = b""
    # negative-test knobs: declared length (None = len(value)); padding bytes (None = zeros)
    declared_length: Optional[int] = None
    padding: Optional[bytes] = None
    offset: int = -1            # offset of the attribute header in the decoded message

    def encode(self) -> bytes:
        length = len(self.value) if self.declared_length is None else self.declared_length
        pad = self.padding if self.padding is not None else b"\0" * (pad4(len(self.value)) - len(self.value))
        return struct.pack("!HH", self.type, length) + self.value + pad

    @property
    def name(self) -> str:
        return ATTR_NAMES.get(self.type, f"0x{self.type:04X}")


@dataclass
class Message:
    method: int
    cls: int = REQUEST
    tid: bytes = field(default_factory=random_tid)
    attrs: List[Attr] = field(default_factory=list)
    cookie: int = MAGIC_COOKIE    # anything else: an RFC 3489 message (cookie = first 4 tid bytes)
    raw: bytes = b""              # the bytes this message was decoded from (decode only)
    msg_type_override: Optional[int] = None

    # --- construction ---
    def add(self, attr_type: int, value: bytes = b"", **kw) -> "Message":
        self.attrs.append(Attr(attr_type, value, **kw))
        return self

    def add_xor_address(self, attr_type: int, addr: Address) -> "Message":
        return self.add(attr_type, encode_xor_address(addr, self.tid))

    @property
    def is_rfc3489(self) -> bool:
        return self.cookie != MAGIC_COOKIE

    @property
    def tid16(self) -> bytes:
        """The RFC 3489 128-bit transaction id (cookie bytes + tid)."""
        return struct.pack("!I", self.cookie) + self.tid

    @property
    def msg_type(self) -> int:
        if self.msg_type_override is not None:
            return self.msg_type_override
        return method_class_to_type(self.method, self.cls)

    def encode(self, key: Optional[bytes] = None, integrity: Optional[str] = None,
               fingerprint: bool = False, header_length: Optional[int] = None,
               trailing: bytes = b"", sha256_len: int = 32) -> bytes:
        """Serialize. integrity: None, "sha1", "sha256" or "both" (MI then MI-SHA256), computed
        with `key` over the message as RFC 8489 §14.5/§14.6 say. FINGERPRINT goes last.
        header_length overrides the length field (after every hash is computed); trailing bytes
        are appended after the message (neither is counted by the hashes)."""
        body = b"".join(a.encode() for a in self.attrs)
        hdr_rest = struct.pack("!I", self.cookie) + self.tid

        def header(length: int) -> bytes:
            return struct.pack("!HH", self.msg_type, length) + hdr_rest

        if integrity in ("sha1", "both"):
            assert key is not None, "integrity needs a key"
            mac = hmac.new(key, header(len(body) + 24) + body, hashlib.sha1).digest()
            body += struct.pack("!HH", AttrType.MESSAGE_INTEGRITY, 20) + mac
        if integrity in ("sha256", "both"):
            assert key is not None, "integrity needs a key"
            mac = hmac.new(key, header(len(body) + 4 + sha256_len) + body, hashlib.sha256).digest()
            body += struct.pack("!HH", AttrType.MESSAGE_INTEGRITY_SHA256, sha256_len) + mac[:sha256_len]
        if integrity not in (None, "sha1", "sha256", "both"):
            raise ValueError(integrity)
        if fingerprint:
            crc = fingerprint_of(header(len(body) + 8) + body)
            body += struct.pack("!HHI", AttrType.FINGERPRINT, 4, crc)
        length = len(body) if header_length is None else header_length
        return header(length) + body + trailing

    # --- decoding ---
    @classmethod
    def decode(cls, data: bytes) -> "Message":
        if len(data) < HEADER_LEN:
            raise DecodeError(f"message shorter than a header ({len(data)} bytes)")
        msg_type, length, cookie = struct.unpack("!HHI", data[:8])
        if msg_type & 0xC000:
            raise DecodeError(f"first two bits not zero (type 0x{msg_type:04X})")
        if length % 4:
            raise DecodeError(f"length {length} not a multiple of 4")
        if HEADER_LEN + length != len(data):
            raise DecodeError(f"length {length} does not match {len(data) - HEADER_LEN} body bytes")
        method, klass = type_to_method_class(msg_type)
        msg = cls(method=method, cls=klass, tid=data[8:20], cookie=cookie, raw=bytes(data))
        off = HEADER_LEN
        while off < len(data):
            if off + 4 > len(data):
                raise DecodeError("truncated attribute header")
            at, al = struct.unpack("!HH", data[off:off + 4])
            if off + 4 + al > len(data):
                raise DecodeError(f"attribute 0x{at:04X} length {al} past the end")
            msg.attrs.append(Attr(at, bytes(data[off + 4:off + 4 + al]), offset=off))
            off += 4 + pad4(al)
        if off != len(data):
            raise DecodeError("padding of the last attribute past the end")
        return msg

    # --- access ---
    def get(self, attr_type: int) -> Optional[bytes]:
        for a in self.attrs:
            if a.type == attr_type:
                return a.value
        return None

    def get_all(self, attr_type: int) -> List[bytes]:
        return [a.value for a in self.attrs if a.type == attr_type]

    def has(self, attr_type: int) -> bool:
        return any(a.type == attr_type for a in self.attrs)

    def attr_types(self) -> List[int]:
        return [a.type for a in self.attrs]

    def _xor_addr(self, t: int) -> Optional[Address]:
        v = self.get(t)
        return None if v is None else decode_xor_address(v, self.tid)

    @property
    def xor_mapped_address(self) -> Optional[Address]:
        return self._xor_addr(AttrType.XOR_MAPPED_ADDRESS)

    @property
    def mapped_address(self) -> Optional[Address]:
        v = self.get(AttrType.MAPPED_ADDRESS)
        return None if v is None else decode_address(v)

    @property
    def alternate_server(self) -> Optional[Address]:
        """ALTERNATE-SERVER (RFC 8489 §14.15): a plain address, like MAPPED-ADDRESS."""
        v = self.get(AttrType.ALTERNATE_SERVER)
        return None if v is None else decode_address(v)

    @property
    def xor_relayed_addresses(self) -> List[Address]:
        return [decode_xor_address(v, self.tid) for v in self.get_all(AttrType.XOR_RELAYED_ADDRESS)]

    @property
    def xor_relayed_address(self) -> Optional[Address]:
        return self._xor_addr(AttrType.XOR_RELAYED_ADDRESS)

    @property
    def xor_peer_addresses(self) -> List[Address]:
        return [decode_xor_address(v, self.tid) for v in self.get_all(AttrType.XOR_PEER_ADDRESS)]

    @property
    def xor_peer_address(self) -> Optional[Address]:
        return self._xor_addr(AttrType.XOR_PEER_ADDRESS)

    @property
    def error_code(self) -> Optional[int]:
        v = self.get(AttrType.ERROR_CODE)
        return None if v is None else decode_error_code(v)[0]

    @property
    def error_reason(self) -> Optional[str]:
        v = self.get(AttrType.ERROR_CODE)
        return None if v is None else decode_error_code(v)[1]

    @property
    def address_error_code(self) -> Optional[Tuple[int, int, str]]:
        v = self.get(AttrType.ADDRESS_ERROR_CODE)
        return None if v is None else decode_address_error_code(v)

    @property
    def unknown_attributes(self) -> Optional[List[int]]:
        v = self.get(AttrType.UNKNOWN_ATTRIBUTES)
        return None if v is None else decode_unknown_attributes(v)

    @property
    def lifetime(self) -> Optional[int]:
        v = self.get(AttrType.LIFETIME)
        return None if v is None or len(v) != 4 else struct.unpack("!I", v)[0]

    @property
    def data(self) -> Optional[bytes]:
        return self.get(AttrType.DATA)

    @property
    def realm(self) -> Optional[str]:
        v = self.get(AttrType.REALM)
        return None if v is None else v.decode("utf-8", "replace")

    @property
    def nonce(self) -> Optional[str]:
        v = self.get(AttrType.NONCE)
        return None if v is None else v.decode("utf-8", "replace")

    @property
    def software(self) -> Optional[str]:
        v = self.get(AttrType.SOFTWARE)
        return None if v is None else v.decode("utf-8", "replace")

    @property
    def password_algorithms(self) -> Optional[List[Tuple[int, bytes]]]:
        v = self.get(AttrType.PASSWORD_ALGORITHMS)
        return None if v is None else decode_password_algorithms(v)

    @property
    def reservation_token(self) -> Optional[bytes]:
        return self.get(AttrType.RESERVATION_TOKEN)

    @property
    def channel_number(self) -> Optional[int]:
        v = self.get(AttrType.CHANNEL_NUMBER)
        return None if v is None or len(v) != 4 else struct.unpack("!H", v[:2])[0]

    @property
    def connection_id(self) -> Optional[int]:
        """CONNECTION-ID (RFC 6062 §6.2.1, 32 bits); None when absent or not 4 bytes."""
        v = self.get(AttrType.CONNECTION_ID)
        return None if v is None or len(v) != 4 else struct.unpack("!I", v)[0]

    @property
    def is_success(self) -> bool:
        return self.cls == SUCCESS

    @property
    def is_error(self) -> bool:
        return self.cls == ERROR

    # --- integrity / fingerprint checks on a decoded message ---
    def _attr(self, t: int) -> Optional[Attr]:
        for a in self.attrs:
            if a.type == t:
                return a
        return None

    def _hash_input(self, attr: Attr) -> bytes:
        """Header with the length adjusted to end at `attr`, plus the bytes before it."""
        end = attr.offset + 4 + pad4(len(attr.value))
        hdr = struct.pack("!HH", struct.unpack("!H", self.raw[:2])[0], end - HEADER_LEN) + self.raw[4:20]
        return hdr + self.raw[HEADER_LEN:attr.offset]

    def check_integrity(self, key: bytes) -> Optional[bool]:
        """MESSAGE-INTEGRITY (HMAC-SHA1) valid for key? None when absent."""
        a = self._attr(AttrType.MESSAGE_INTEGRITY)
        if a is None:
            return None
        mac = hmac.new(key, self._hash_input(a), hashlib.sha1).digest()
        return hmac.compare_digest(mac, a.value)

    def check_integrity_sha256(self, key: bytes) -> Optional[bool]:
        a = self._attr(AttrType.MESSAGE_INTEGRITY_SHA256)
        if a is None:
            return None
        mac = hmac.new(key, self._hash_input(a), hashlib.sha256).digest()
        return 16 <= len(a.value) <= 32 and hmac.compare_digest(mac[:len(a.value)], a.value)

    def check_fingerprint(self) -> Optional[bool]:
        """FINGERPRINT valid and last? None when absent."""
        a = self._attr(AttrType.FINGERPRINT)
        if a is None:
            return None
        if len(a.value) != 4 or a is not self.attrs[-1]:
            return False
        return struct.unpack("!I", a.value)[0] == fingerprint_of(self._hash_input(a))

    def describe(self) -> str:
        name = METHOD_NAMES.get(self.method, f"0x{self.method:03X}")
        parts = [f"{name} {CLASS_NAMES[self.cls]}"]
        if self.is_error:
            parts.append(f"{self.error_code} {self.error_reason!r}")
        parts.append("[" + ", ".join(a.name for a in self.attrs) + "]")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.describe()


def looks_like_stun(data: bytes) -> bool:
    return len(data) >= HEADER_LEN and data[0] < 0x40


# --- ChannelData (RFC 8656 §12.4) ----------------------------------------------------------------

def encode_channel_data(channel: int, data: bytes, pad: bool = False,
                        declared_length: Optional[int] = None) -> bytes:
    length = len(data) if declared_length is None else declared_length
    out = struct.pack("!HH", channel, length) + data
    if pad:
        out += b"\0" * (pad4(len(data)) - len(data))
    return out


def decode_channel_data(buf: bytes) -> Tuple[int, bytes]:
    """Decode one ChannelData message (UDP: possibly padded)."""
    if len(buf) < 4:
        raise DecodeError("ChannelData shorter than its header")
    ch, length = struct.unpack("!HH", buf[:4])
    if not 0x4000 <= ch <= 0x7FFF:
        raise DecodeError(f"not a ChannelData channel number 0x{ch:04X}")
    if 4 + length > len(buf):
        raise DecodeError("ChannelData length past the datagram")
    return ch, bytes(buf[4:4 + length])


def is_channel_data(buf: bytes) -> bool:
    return len(buf) >= 1 and 0x40 <= buf[0] <= 0x7F


# --- stream framing (STUN and ChannelData over TCP, RFC 8489 §6.2.2 / RFC 8656 §12.5) -----------

class StreamFramer:
    """Cuts a byte stream into STUN messages and (padded) ChannelData frames."""

    def __init__(self, channel_padding: bool = True):
        self.buf = bytearray()
        self.channel_padding = channel_padding

    def feed(self, data: bytes) -> None:
        self.buf += data

    def next_frame(self) -> Optional[Tuple[str, bytes]]:
        """-> ("stun", bytes) / ("channel", bytes incl. 4-byte header, excl. padding) / None.
        Raises DecodeError when the stream cannot be STUN/ChannelData."""
        if len(self.buf) < 4:
            return None
        first = self.buf[0]
        length = struct.unpack("!H", self.buf[2:4])[0]
        if first < 0x40:
            total = HEADER_LEN + length
            if len(self.buf) < total:
                return None
            frame = bytes(self.buf[:total])
            del self.buf[:total]
            return ("stun", frame)
        if first < 0x80:
            total = 4 + (pad4(length) if self.channel_padding else length)
            if len(self.buf) < total:
                return None
            frame = bytes(self.buf[:4 + length])
            del self.buf[:total]
            return ("channel", frame)
        raise DecodeError(f"stream byte 0x{first:02X} starts neither STUN nor ChannelData")
